//! Encryption at rest, decrypted offline with the user's own `EncryptionConfiguration`.
//!
//! The API server stores an encrypted value as `k8s:enc:<provider>:v1:<key name>:` followed by
//! the provider's payload (the etcd key is not part of the value):
//!
//! ```text
//! aescbc     IV (16) ‖ AES-CBC ciphertext, PKCS#7 padding of 1–16 bytes; no integrity check
//! aesgcm     nonce (12) ‖ AES-GCM ciphertext ‖ tag (16); AAD = the whole etcd key
//! secretbox  nonce (24) ‖ tag (16) ‖ XSalsa20 ciphertext (NaCl secretbox); no AAD
//! kms        k8s:enc:kms:v1:<provider name>: / k8s:enc:kms:v2:<provider name>: ‖ envelope
//! identity   the plain value, no prefix
//! ```
//!
//! Key names may contain `:`, so a value is matched against the whole configured prefix of every
//! key, never split on `:`. KMS envelopes need the KMS plugin and cannot be opened offline; they
//! are reported with their version and provider name. Without a configuration, callers describe
//! encrypted values with [`crate::k8s::envelope::classify`].
//!
//! aescbc has no authentication: a wrong key still yields valid-looking padding about once in
//! 256 tries, so a decrypted aescbc value is accepted only if it looks like a stored object
//! (`k8s\0` protobuf envelope, a JSON object, self-described CBOR).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::k8s::envelope::{self, Value};

pub const API_VERSION: &str = "apiserver.config.k8s.io/v1";
pub const KIND: &str = "EncryptionConfiguration";

/// A provider kind, as named in the configuration and in the stored prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Identity,
    AesCbc,
    AesGcm,
    Secretbox,
    Kms,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Identity => "identity",
            Provider::AesCbc => "aescbc",
            Provider::AesGcm => "aesgcm",
            Provider::Secretbox => "secretbox",
            Provider::Kms => "kms",
        }
    }

    fn from_name(name: &str) -> Option<Provider> {
        [Provider::Identity, Provider::AesCbc, Provider::AesGcm, Provider::Secretbox, Provider::Kms].into_iter().find(|p| p.as_str() == name)
    }

    /// The stored prefix of a key of this provider: `k8s:enc:<provider>:v1:<name>:`.
    pub fn prefix(self, key_name: &str) -> Vec<u8> {
        format!("k8s:enc:{}:v1:{key_name}:", self.as_str()).into_bytes()
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key of an aescbc, aesgcm or secretbox provider. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    name: String,
    secret: Vec<u8>,
}

impl Key {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The raw key bytes (the configuration holds them base64-encoded).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("name", &self.name).field("secret", &format_args!("<{} bytes>", self.secret.len())).finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmsVersion {
    V1,
    V2,
}

impl KmsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            KmsVersion::V1 => "v1",
            KmsVersion::V2 => "v2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsConfig {
    pub api_version: KmsVersion,
    pub name: String,
    pub endpoint: Option<String>,
    pub timeout: Option<String>,
    pub cache_size: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderConfig {
    Identity,
    AesCbc(Vec<Key>),
    AesGcm(Vec<Key>),
    Secretbox(Vec<Key>),
    Kms(KmsConfig),
}

impl ProviderConfig {
    pub fn kind(&self) -> Provider {
        match self {
            ProviderConfig::Identity => Provider::Identity,
            ProviderConfig::AesCbc(_) => Provider::AesCbc,
            ProviderConfig::AesGcm(_) => Provider::AesGcm,
            ProviderConfig::Secretbox(_) => Provider::Secretbox,
            ProviderConfig::Kms(_) => Provider::Kms,
        }
    }

    pub fn keys(&self) -> &[Key] {
        match self {
            ProviderConfig::AesCbc(k) | ProviderConfig::AesGcm(k) | ProviderConfig::Secretbox(k) => k,
            ProviderConfig::Identity | ProviderConfig::Kms(_) => &[],
        }
    }
}

/// One item of `resources:`: the resources it names (`secrets`, `*.apps`, `*.*`, …) and their
/// providers in order (the first one writes; all of them read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEntry {
    pub resources: Vec<String>,
    pub providers: Vec<ProviderConfig>,
}

/// A parsed and validated `EncryptionConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionConfig {
    entries: Vec<ResourceEntry>,
}

/// What became of a stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decrypted<'v> {
    /// No `k8s:enc:` prefix: stored in the clear (identity), returned as is.
    NotEncrypted(&'v [u8]),
    Decrypted {
        provider: Provider,
        key_name: String,
        plaintext: Vec<u8>,
    },
    /// A KMS envelope: needs the KMS plugin, cannot be opened offline.
    Kms {
        version: String,
        name: String,
    },
    /// Encrypted with a provider this configuration has no key of that name for.
    NoMatchingKey {
        provider: Provider,
        key_name_guess: String,
    },
    /// A configured key matched the prefix but the value did not open with it.
    Failed {
        provider: Provider,
        key_name: String,
        reason: CryptoError,
    },
    /// `k8s:enc:<provider>:<version>:` with a provider or version this tool does not know.
    Unsupported {
        provider: String,
        version: String,
    },
    /// Starts with `k8s:enc:` but has no `<provider>:<version>:` after it.
    Malformed,
}

impl Decrypted<'_> {
    /// The readable bytes, when there are any: the value itself or its plaintext.
    pub fn plaintext(&self) -> Option<&[u8]> {
        match self {
            Decrypted::NotEncrypted(v) => Some(v),
            Decrypted::Decrypted { plaintext, .. } => Some(plaintext),
            _ => None,
        }
    }
}

/// Why a payload did not open (or could not be sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("key is {got} bytes; {provider} needs {need}")]
    KeySize { provider: Provider, got: usize, need: &'static str },
    #[error("nonce/IV is {got} bytes; {provider} needs {need}")]
    NonceSize { provider: Provider, got: usize, need: usize },
    #[error("payload is {got} bytes, shorter than the {need} bytes {provider} needs")]
    Truncated { provider: Provider, got: usize, need: usize },
    #[error("ciphertext is {0} bytes, not a whole number of 16-byte blocks")]
    NotBlockAligned(usize),
    #[error("bad PKCS#7 padding (wrong key?)")]
    BadPadding,
    #[error("authentication failed (wrong key, damaged value, or a value moved from another etcd key)")]
    Authentication,
    #[error("decrypted, but the result does not look like a stored object (wrong key?)")]
    Implausible,
    #[error("{0} values cannot be produced or opened offline")]
    Unsupported(Provider),
}

impl EncryptionConfig {
    /// Parses an EncryptionConfiguration. Its size and nesting are bounded first
    /// ([`MAX_CONFIG_BYTES`], [`MAX_CONFIG_DEPTH`]): the YAML parser's time grows with the
    /// square of the nesting.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        check_bounds(text)?;
        let raw: RawConfig = serde_yaml_ng::from_str(text)?;
        if raw.api_version != API_VERSION || raw.kind != KIND {
            return Err(ConfigError::Kind { api_version: raw.api_version, kind: raw.kind });
        }
        if raw.resources.is_empty() {
            return Err(ConfigError::NoResources);
        }
        let mut entries = Vec::with_capacity(raw.resources.len());
        for (i, entry) in raw.resources.into_iter().enumerate() {
            entries.push(parse_entry(i, entry)?);
        }
        Ok(EncryptionConfig { entries })
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        if let Err(e) = crate::source::require_regular_path(path) {
            let kind = match &e {
                crate::Error::Io { source, .. } => source.kind(),
                _ => std::io::ErrorKind::InvalidInput,
            };
            let message = match e {
                crate::Error::Unrecognised { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(ConfigError::Io { path: path.to_path_buf(), source: std::io::Error::new(kind, message) });
        }
        let text = read_bounded(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
        Self::from_yaml(&text).map_err(|e| ConfigError::InFile { path: path.to_path_buf(), source: Box::new(e) })
    }

    pub fn entries(&self) -> &[ResourceEntry] {
        &self.entries
    }

    /// Decrypts one stored value. `etcd_key` is the value's etcd key (aesgcm authenticates it).
    /// Every configured key whose whole prefix matches is tried, longest name first; the first
    /// that opens wins. Allocation is bounded by `value.len()`.
    pub fn decrypt<'v>(&self, etcd_key: &[u8], value: &'v [u8]) -> Decrypted<'v> {
        if !value.starts_with(envelope::ENCRYPTED_PREFIX) {
            return Decrypted::NotEncrypted(value);
        }
        let Ok(Value::Encrypted(enc)) = envelope::classify(value) else {
            return Decrypted::Malformed;
        };
        let provider = match (Provider::from_name(&enc.provider), enc.version.as_str()) {
            (Some(Provider::Kms), _) => {
                let name = self.kms_name(value, &enc.version).unwrap_or_else(|| enc.key_name_guess());
                return Decrypted::Kms { version: enc.version, name };
            }
            (Some(p @ (Provider::AesCbc | Provider::AesGcm | Provider::Secretbox)), "v1") => p,
            _ => return Decrypted::Unsupported { provider: enc.provider, version: enc.version },
        };

        let mut candidates: Vec<(&Key, usize)> = Vec::new();
        for key in self.keys_of(provider) {
            let prefix = provider.prefix(&key.name);
            if value.starts_with(&prefix) && !candidates.iter().any(|(k, _)| *k == key) {
                candidates.push((key, prefix.len()));
            }
        }
        candidates.sort_by_key(|c| std::cmp::Reverse(c.1)); // stable: config order among equal lengths
        let Some(&(first, _)) = candidates.first() else {
            return Decrypted::NoMatchingKey { provider, key_name_guess: enc.key_name_guess() };
        };

        let mut first_error = None;
        for (key, prefix_len) in candidates {
            match open(provider, &key.secret, etcd_key, &value[prefix_len..]) {
                Ok(plaintext) => {
                    return Decrypted::Decrypted { provider, key_name: key.name.clone(), plaintext };
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Decrypted::Failed { provider, key_name: first.name.clone(), reason: first_error.unwrap_or(CryptoError::Authentication) }
    }

    fn keys_of(&self, provider: Provider) -> impl Iterator<Item = &Key> {
        self.entries.iter().flat_map(|e| e.providers.iter()).filter(move |p| p.kind() == provider).flat_map(|p| p.keys().iter())
    }

    /// The configured KMS provider name whose whole prefix the value carries (longest wins).
    fn kms_name(&self, value: &[u8], version: &str) -> Option<String> {
        self.entries
            .iter()
            .flat_map(|e| e.providers.iter())
            .filter_map(|p| match p {
                ProviderConfig::Kms(k) => Some(&k.name),
                _ => None,
            })
            .filter(|name| value.starts_with(format!("k8s:enc:kms:{version}:{name}:").as_bytes()))
            .max_by_key(|name| name.len())
            .cloned()
    }
}

/// Opens one payload (what follows the prefix). aescbc results must look like a stored object.
fn open(provider: Provider, secret: &[u8], etcd_key: &[u8], payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match provider {
        Provider::AesCbc => {
            let (iv, ct) = split_front(provider, payload, 16, 16)?;
            let plaintext = primitives::aes_cbc_decrypt(secret, iv, ct)?;
            if looks_like_object(&plaintext) {
                Ok(plaintext)
            } else {
                Err(CryptoError::Implausible)
            }
        }
        Provider::AesGcm => {
            let (nonce, rest) = split_front(provider, payload, 12, 16)?;
            primitives::aes_gcm_open(secret, nonce, etcd_key, rest)
        }
        Provider::Secretbox => {
            let (nonce, rest) = split_front(provider, payload, 24, 16)?;
            primitives::secretbox_open(secret, nonce, rest)
        }
        Provider::Identity | Provider::Kms => Err(CryptoError::Unsupported(provider)),
    }
}

fn split_front(provider: Provider, payload: &[u8], head: usize, min_rest: usize) -> Result<(&[u8], &[u8]), CryptoError> {
    if payload.len() < head + min_rest {
        return Err(CryptoError::Truncated { provider, got: payload.len(), need: head + min_rest });
    }
    Ok(payload.split_at(head))
}

/// What the API server stores: the `k8s\0` protobuf envelope, a JSON object, or CBOR with the
/// self-describe tag.
fn looks_like_object(plaintext: &[u8]) -> bool {
    match envelope::classify(plaintext) {
        Ok(Value::Protobuf(_)) | Ok(Value::Cbor(_)) => true,
        Ok(Value::Json(j)) => serde_json::from_slice::<serde::de::IgnoredAny>(j).is_ok(),
        _ => false,
    }
}

/// Builds a stored value as the API server would: prefix ‖ payload. The caller supplies the
/// IV/nonce (16 for aescbc, 12 for aesgcm, 24 for secretbox) and must never reuse one with a key.
/// Identity returns the plaintext; KMS cannot be sealed offline.
pub fn seal(provider: Provider, key_name: &str, secret: &[u8], etcd_key: &[u8], nonce: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let need = match provider {
        Provider::Identity => return Ok(plaintext.to_vec()),
        Provider::Kms => return Err(CryptoError::Unsupported(provider)),
        Provider::AesCbc => 16,
        Provider::AesGcm => 12,
        Provider::Secretbox => 24,
    };
    if nonce.len() != need {
        return Err(CryptoError::NonceSize { provider, got: nonce.len(), need });
    }
    let body = match provider {
        Provider::AesCbc => primitives::aes_cbc_encrypt(secret, nonce, plaintext)?,
        Provider::AesGcm => primitives::aes_gcm_seal(secret, nonce, etcd_key, plaintext)?,
        _ => primitives::secretbox_seal(secret, nonce, plaintext)?,
    };
    let mut out = provider.prefix(key_name);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&body);
    Ok(out)
}

/// The three ciphers, in the byte layouts the API server uses. Public so that tests can hold
/// them to published test vectors.
pub mod primitives {
    use super::{CryptoError, Provider};
    use aes::{Aes128, Aes192, Aes256};
    use aes_gcm::aead::consts::U12;
    use aes_gcm::aead::generic_array::GenericArray;
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    use aes_gcm::AesGcm;
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
    use crypto_secretbox::XSalsa20Poly1305;

    const AES_SIZES: &str = "16, 24 or 32 bytes";

    fn aes_key_error(provider: Provider, key: &[u8]) -> CryptoError {
        CryptoError::KeySize { provider, got: key.len(), need: AES_SIZES }
    }

    fn check_len(provider: Provider, got: usize, need: usize) -> Result<(), CryptoError> {
        if got == need {
            Ok(())
        } else {
            Err(CryptoError::NonceSize { provider, got, need })
        }
    }

    /// AES-CBC with PKCS#7 padding; returns the ciphertext without the IV.
    pub fn aes_cbc_encrypt(key: &[u8], iv: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_len(Provider::AesCbc, iv.len(), 16)?;
        fn run<C: KeyIvInit + BlockEncryptMut>(key: &[u8], iv: &[u8], pt: &[u8]) -> Option<Vec<u8>> {
            Some(C::new_from_slices(key, iv).ok()?.encrypt_padded_vec_mut::<Pkcs7>(pt))
        }
        match key.len() {
            16 => run::<cbc::Encryptor<Aes128>>(key, iv, plaintext),
            24 => run::<cbc::Encryptor<Aes192>>(key, iv, plaintext),
            32 => run::<cbc::Encryptor<Aes256>>(key, iv, plaintext),
            _ => None,
        }
        .ok_or_else(|| aes_key_error(Provider::AesCbc, key))
    }

    /// AES-CBC decryption; checks and removes PKCS#7 padding (1–16 bytes).
    pub fn aes_cbc_decrypt(key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_len(Provider::AesCbc, iv.len(), 16)?;
        if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
            return Err(CryptoError::NotBlockAligned(ciphertext.len()));
        }
        fn run<C: KeyIvInit + BlockDecryptMut>(key: &[u8], iv: &[u8], ct: &[u8]) -> Option<Result<Vec<u8>, CryptoError>> {
            let c = C::new_from_slices(key, iv).ok()?;
            Some(c.decrypt_padded_vec_mut::<Pkcs7>(ct).map_err(|_| CryptoError::BadPadding))
        }
        match key.len() {
            16 => run::<cbc::Decryptor<Aes128>>(key, iv, ciphertext),
            24 => run::<cbc::Decryptor<Aes192>>(key, iv, ciphertext),
            32 => run::<cbc::Decryptor<Aes256>>(key, iv, ciphertext),
            _ => None,
        }
        .ok_or_else(|| aes_key_error(Provider::AesCbc, key))?
    }

    /// AES-GCM with a 12-byte nonce; returns ciphertext ‖ tag (16).
    pub fn aes_gcm_seal(key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_len(Provider::AesGcm, nonce.len(), 12)?;
        fn run<A: AeadInPlace + KeyInit>(key: &[u8], nonce: &[u8], aad: &[u8], pt: &[u8]) -> Option<Vec<u8>> {
            let cipher = A::new_from_slice(key).ok()?;
            let mut buf = pt.to_vec();
            let tag = cipher.encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, &mut buf).ok()?;
            buf.extend_from_slice(&tag);
            Some(buf)
        }
        match key.len() {
            16 => run::<AesGcm<Aes128, U12>>(key, nonce, aad, plaintext),
            24 => run::<AesGcm<Aes192, U12>>(key, nonce, aad, plaintext),
            32 => run::<AesGcm<Aes256, U12>>(key, nonce, aad, plaintext),
            _ => None,
        }
        .ok_or_else(|| aes_key_error(Provider::AesGcm, key))
    }

    /// Opens ciphertext ‖ tag (16) with AES-GCM, authenticating `aad`.
    pub fn aes_gcm_open(key: &[u8], nonce: &[u8], aad: &[u8], ct_tag: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_len(Provider::AesGcm, nonce.len(), 12)?;
        let Some(ct_len) = ct_tag.len().checked_sub(16) else {
            return Err(CryptoError::Truncated { provider: Provider::AesGcm, got: ct_tag.len(), need: 16 });
        };
        let (ct, tag) = ct_tag.split_at(ct_len);
        fn run<A: AeadInPlace + KeyInit>(key: &[u8], nonce: &[u8], aad: &[u8], ct: &[u8], tag: &[u8]) -> Option<Result<Vec<u8>, CryptoError>> {
            let cipher = A::new_from_slice(key).ok()?;
            let mut buf = ct.to_vec();
            let opened = cipher.decrypt_in_place_detached(GenericArray::from_slice(nonce), aad, &mut buf, GenericArray::from_slice(tag));
            Some(opened.map(|()| buf).map_err(|_| CryptoError::Authentication))
        }
        match key.len() {
            16 => run::<AesGcm<Aes128, U12>>(key, nonce, aad, ct, tag),
            24 => run::<AesGcm<Aes192, U12>>(key, nonce, aad, ct, tag),
            32 => run::<AesGcm<Aes256, U12>>(key, nonce, aad, ct, tag),
            _ => None,
        }
        .ok_or_else(|| aes_key_error(Provider::AesGcm, key))?
    }

    fn secretbox(key: &[u8], nonce: &[u8]) -> Result<XSalsa20Poly1305, CryptoError> {
        check_len(Provider::Secretbox, nonce.len(), 24)?;
        XSalsa20Poly1305::new_from_slice(key).map_err(|_| CryptoError::KeySize { provider: Provider::Secretbox, got: key.len(), need: "32 bytes" })
    }

    /// NaCl secretbox (XSalsa20-Poly1305); returns tag (16) ‖ ciphertext, as Go's nacl/secretbox.
    pub fn secretbox_seal(key: &[u8], nonce: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = secretbox(key, nonce)?;
        let mut out = vec![0u8; 16];
        out.extend_from_slice(plaintext);
        let tag = cipher.encrypt_in_place_detached(GenericArray::from_slice(nonce), b"", &mut out[16..]).map_err(|_| CryptoError::Authentication)?;
        out[..16].copy_from_slice(&tag);
        Ok(out)
    }

    /// Opens tag (16) ‖ ciphertext with NaCl secretbox.
    pub fn secretbox_open(key: &[u8], nonce: &[u8], tag_ct: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = secretbox(key, nonce)?;
        if tag_ct.len() < 16 {
            return Err(CryptoError::Truncated { provider: Provider::Secretbox, got: tag_ct.len(), need: 16 });
        }
        let (tag, ct) = tag_ct.split_at(16);
        let mut buf = ct.to_vec();
        cipher
            .decrypt_in_place_detached(GenericArray::from_slice(nonce), b"", &mut buf, GenericArray::from_slice(tag))
            .map_err(|_| CryptoError::Authentication)?;
        Ok(buf)
    }
}

// ---- configuration errors ----------------------------------------------------------------------

/// A bad `EncryptionConfiguration`, naming the resources entry, provider and key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    InFile { path: PathBuf, source: Box<ConfigError> },
    #[error("EncryptionConfiguration: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("expected apiVersion {API_VERSION}, kind {KIND}; found apiVersion {api_version:?}, kind {kind:?}")]
    Kind { api_version: String, kind: String },
    #[error("EncryptionConfiguration: resources is empty")]
    NoResources,
    #[error("EncryptionConfiguration is larger than {max} bytes (a real one is a few kilobytes); refused before parsing")]
    TooLarge { max: usize },
    #[error("EncryptionConfiguration: line {line}: nested deeper than {max} levels (a real one nests fewer than 10); refused before parsing")]
    TooDeep { line: usize, max: usize },
    #[error("resources[{entry}] ({}): {problem}", resources.join(", "))]
    Entry { entry: usize, resources: Vec<String>, problem: EntryProblem },
    #[error("{}", ProviderErrorDisplay(self))]
    Provider {
        entry: usize,
        resources: Vec<String>,
        provider: usize,
        /// The provider's kind when one was recognised (`aescbc`, `kms`, …).
        kind: Option<Provider>,
        key: Option<String>,
        problem: ProviderProblem,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error("lists no resources")]
    NoResources,
    #[error("lists no providers")]
    NoProviders,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderProblem {
    #[error("names no provider (expected one of identity, aescbc, aesgcm, secretbox, kms; found {})", list(.0))]
    NoKind(Vec<String>),
    #[error("names more than one provider ({}); each list item must be exactly one", list(.0))]
    SeveralKinds(Vec<String>),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("has no keys")]
    NoKeys,
    #[error("a key has an empty name")]
    EmptyKeyName,
    #[error("secret is not standard base64: {0}")]
    BadBase64(String),
    #[error("secret decodes to {got} bytes; {need}")]
    KeySize { got: usize, need: &'static str },
    #[error("kms provider has no name")]
    KmsNoName,
    #[error("kms apiVersion {0:?} is not v1 or v2")]
    KmsApiVersion(String),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

struct ProviderErrorDisplay<'a>(&'a ConfigError);

impl fmt::Display for ProviderErrorDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConfigError::Provider { entry, resources, provider, kind, key, problem } = self.0 else {
            return Ok(());
        };
        write!(f, "resources[{entry}] ({}): providers[{provider}]", resources.join(", "))?;
        if let Some(kind) = kind {
            write!(f, " ({kind})")?;
        }
        if let Some(key) = key {
            let what = if *kind == Some(Provider::Kms) { "name" } else { "key" };
            write!(f, ": {what} {key:?}")?;
        }
        write!(f, ": {problem}")
    }
}

// ---- parsing -----------------------------------------------------------------------------------

/// The largest configuration read. A real one is a few kilobytes (a key is about 100 bytes);
/// 1 MiB leaves room for thousands of keys.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// The deepest nesting accepted. A real configuration nests fewer than 10 levels (resources →
/// entry → providers → provider → kind → keys → key); the YAML parser's time grows with the
/// square of the depth (100,000 levels of `[` took it over 20 s), and at 64 it is negligible.
pub const MAX_CONFIG_DEPTH: usize = 64;

/// Reads at most [`MAX_CONFIG_BYTES`] (and one more, to tell that there is more): a huge or
/// endless file is refused without being read.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_CONFIG_BYTES as u64 + 1).read_to_string(&mut text)?;
    Ok(text)
}

/// Refuses a configuration larger than [`MAX_CONFIG_BYTES`] or nested deeper than
/// [`MAX_CONFIG_DEPTH`], in one linear pass, before the parser sees it.
fn check_bounds(text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge { max: MAX_CONFIG_BYTES });
    }
    match first_line_deeper_than(text, MAX_CONFIG_DEPTH) {
        Some(line) => Err(ConfigError::TooDeep { line, max: MAX_CONFIG_DEPTH }),
        None => Ok(()),
    }
}

/// The first line (1-based) at which YAML `text` may nest deeper than `max` levels, counting
/// block levels (distinct open indentations, plus compact `- ` / `? ` indicators on a line)
/// and flow levels (`[` and `{`, which may span lines). It never counts fewer levels than the
/// parser sees: brackets are skipped only inside a quoted scalar that opens where a scalar
/// starts and closes on the same line, and after a comment's `#`; elsewhere every bracket
/// counts, so a bracket inside a plain scalar can only make the estimate higher.
fn first_line_deeper_than(text: &str, max: usize) -> Option<usize> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (n, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut i = 0;
        let mut block = indents.len();
        if flow == 0 {
            let indent = bytes.iter().take_while(|&&b| b == b' ').count();
            let rest = &bytes[indent..];
            if rest.is_empty() || rest[0] == b'#' {
                continue;
            }
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                indents.push(indent);
            }
            i = indent;
            block = indents.len();
            // `- - x`, `? - x`: each compact indicator opens one more level on the same line.
            while i < bytes.len() && matches!(bytes[i], b'-' | b'?') && bytes.get(i + 1).map_or(true, |b| *b == b' ') {
                block += 1;
                i += 1;
                while bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
            }
        }
        if block + flow > max {
            return Some(n + 1);
        }
        // Whether the next character starts a scalar (where a quote opens a quoted scalar).
        let mut scalar_start = true;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'\'' | b'"' if scalar_start => match closing_quote(bytes, i) {
                    Some(end) => {
                        i = end;
                        scalar_start = false;
                    }
                    None => scalar_start = false,
                },
                b'#' if i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t' => break,
                b'[' | b'{' => {
                    flow += 1;
                    if block + flow > max {
                        return Some(n + 1);
                    }
                    scalar_start = true;
                }
                b']' | b'}' => {
                    flow = flow.saturating_sub(1);
                    scalar_start = false;
                }
                b',' if flow > 0 => scalar_start = true,
                b':' if bytes.get(i + 1).map_or(true, |c| *c == b' ') => scalar_start = true,
                b' ' | b'\t' => {}
                _ => scalar_start = false,
            }
            i += 1;
        }
    }
    None
}

/// The index of the quote that closes the quoted scalar opening at `bytes[open]` on the same
/// line (`\` escapes in double quotes; `''` in single quotes ends and reopens, which is fine).
fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 1,
            c if c == quote => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    resources: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    resources: Vec<String>,
    /// Each item is a one-key mapping; kept generic so presence, typos and extras are reported.
    #[serde(default)]
    providers: Vec<BTreeMap<String, serde_yaml_ng::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    #[serde(default)]
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    name: String,
    secret: String,
}

#[derive(Deserialize)]
struct RawKms {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    cachesize: Option<i64>,
}

fn parse_entry(entry: usize, raw: RawEntry) -> Result<ResourceEntry, ConfigError> {
    let resources = raw.resources;
    let entry_error = |problem| ConfigError::Entry { entry, resources: resources.clone(), problem };
    if resources.is_empty() {
        return Err(entry_error(EntryProblem::NoResources));
    }
    if raw.providers.is_empty() {
        return Err(entry_error(EntryProblem::NoProviders));
    }
    let mut providers = Vec::with_capacity(raw.providers.len());
    for (index, map) in raw.providers.into_iter().enumerate() {
        let error = |kind: Option<Provider>, key: Option<&str>, problem| ConfigError::Provider {
            entry,
            resources: resources.clone(),
            provider: index,
            kind,
            key: key.map(str::to_string),
            problem,
        };
        let names: Vec<String> = map.keys().cloned().collect();
        let known: Vec<(Provider, &serde_yaml_ng::Value)> = map.iter().filter_map(|(k, v)| Some((Provider::from_name(k)?, v))).collect();
        let (kind, body) = match known.as_slice() {
            [one] => *one,
            [] => return Err(error(None, None, ProviderProblem::NoKind(names))),
            _ => return Err(error(None, None, ProviderProblem::SeveralKinds(names))),
        };
        if names.len() > 1 {
            return Err(error(Some(kind), None, ProviderProblem::SeveralKinds(names)));
        }
        let malformed = |e: serde_yaml_ng::Error| error(Some(kind), None, ProviderProblem::Malformed(e.to_string()));
        let parsed = match kind {
            Provider::Identity => ProviderConfig::Identity,
            Provider::Kms => {
                let raw: RawKms = serde_yaml_ng::from_value(body.clone()).map_err(malformed)?;
                if raw.name.is_empty() {
                    return Err(error(Some(kind), None, ProviderProblem::KmsNoName));
                }
                let api_version = match raw.api_version.as_deref() {
                    None | Some("") | Some("v1") => KmsVersion::V1,
                    Some("v2") => KmsVersion::V2,
                    Some(other) => return Err(error(Some(kind), Some(&raw.name), ProviderProblem::KmsApiVersion(other.into()))),
                };
                ProviderConfig::Kms(KmsConfig { api_version, name: raw.name, endpoint: raw.endpoint, timeout: raw.timeout, cache_size: raw.cachesize })
            }
            Provider::AesCbc | Provider::AesGcm | Provider::Secretbox => {
                let raw: RawKeys = serde_yaml_ng::from_value(body.clone()).map_err(malformed)?;
                if raw.keys.is_empty() {
                    return Err(error(Some(kind), None, ProviderProblem::NoKeys));
                }
                let mut keys = Vec::with_capacity(raw.keys.len());
                for k in raw.keys {
                    if k.name.is_empty() {
                        return Err(error(Some(kind), None, ProviderProblem::EmptyKeyName));
                    }
                    let secret = base64::engine::general_purpose::STANDARD
                        .decode(k.secret.trim())
                        .map_err(|e| error(Some(kind), Some(&k.name), ProviderProblem::BadBase64(e.to_string())))?;
                    let (ok, need) = match kind {
                        Provider::Secretbox => (secret.len() == 32, "secretbox keys must be 32 bytes"),
                        Provider::AesCbc => (matches!(secret.len(), 16 | 24 | 32), "aescbc keys must be 16, 24 or 32 bytes"),
                        _ => (matches!(secret.len(), 16 | 24 | 32), "aesgcm keys must be 16, 24 or 32 bytes"),
                    };
                    if !ok {
                        return Err(error(Some(kind), Some(&k.name), ProviderProblem::KeySize { got: secret.len(), need }));
                    }
                    keys.push(Key { name: k.name, secret });
                }
                match kind {
                    Provider::AesCbc => ProviderConfig::AesCbc(keys),
                    Provider::AesGcm => ProviderConfig::AesGcm(keys),
                    _ => ProviderConfig::Secretbox(keys),
                }
            }
        };
        providers.push(parsed);
    }
    Ok(ResourceEntry { resources, providers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // NIST SP 800-38A (2001), Appendix F.2.5/F.2.6, CBC-AES256 (bytes as in the publication;
    // also golang/go src/crypto/cipher/cbc_aes_test.go, "CBC-AES256").
    #[test]
    fn cbc_aes256_nist_sp800_38a_f25_f26() {
        let key = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let iv = hex("000102030405060708090a0b0c0d0e0f");
        let pt = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                      30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
        let ct = hex("f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
                      39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b");
        let sealed = primitives::aes_cbc_encrypt(&key, &iv, &pt).unwrap();
        assert_eq!(sealed.len(), 80, "64 bytes of vector plus one block of padding");
        assert_eq!(&sealed[..64], &ct[..]);
        assert_eq!(primitives::aes_cbc_decrypt(&key, &iv, &sealed).unwrap(), pt);
    }

    #[test]
    fn plausibility() {
        assert!(looks_like_object(b"{\"kind\":\"Secret\"}"));
        assert!(looks_like_object(b"\n {\"a\":1}\n"));
        assert!(!looks_like_object(b"{garbage"));
        assert!(looks_like_object(&[0xd9, 0xd9, 0xf7, 0xa0]));
        assert!(looks_like_object(b"k8s\0\x0a\x09\x0a\x02v1\x12\x03Pod\x12\x00"));
        assert!(!looks_like_object(b"k8s\0\x0a\xff"));
        assert!(!looks_like_object(b"\x13\x88\xfe random"));
        assert!(!looks_like_object(b""));
    }

    #[test]
    fn key_debug_hides_secret() {
        let k = Key { name: "k1".into(), secret: vec![0x41; 32] };
        let s = format!("{k:?}");
        assert!(s.contains("<32 bytes>") && !s.contains("65") && !s.contains("AAAA"), "{s}");
    }

    #[test]
    fn truncated_payloads_fail_cleanly() {
        let key = [7u8; 32];
        for p in [Provider::AesCbc, Provider::AesGcm, Provider::Secretbox] {
            for len in [0, 1, 11, 12, 15, 16, 23, 24, 31, 39] {
                let r = open(p, &key, b"/registry/x", &vec![0u8; len]);
                assert!(r.is_err(), "{p} {len}");
            }
        }
        // aescbc: IV plus a ragged ciphertext.
        assert_eq!(open(Provider::AesCbc, &key, b"", &[0u8; 16 + 17]), Err(CryptoError::NotBlockAligned(17)));
    }
}
