//! Encryption at rest: the ciphers against published test vectors, then round trips through a
//! real EncryptionConfiguration layout (values built with our own sealing code, which the vector
//! tests check), the failure cases, and configuration errors.

use base64::Engine as _;
use etcdscope::k8s::encryption::{primitives, seal, ConfigError, CryptoError, Decrypted, EncryptionConfig, KmsVersion, Provider, ProviderConfig};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0);
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---- (1) published test vectors ---------------------------------------------------------------

/// NIST SP 800-38A (2001 edition), Appendix F.2.1 CBC-AES128.Encrypt and F.2.2
/// CBC-AES128.Decrypt. Bytes as printed there; the same bytes are in golang/go
/// src/crypto/cipher/cbc_aes_test.go ("NIST SP 800-38A pp 27-29", CBC-AES128).
#[test]
fn cbc_aes128_nist_sp800_38a_f21_f22() {
    let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
    let iv = hex("000102030405060708090a0b0c0d0e0f");
    let plaintext = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
         30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
    let ciphertext = hex("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
         73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7");
    // F.2.1: our PKCS#7 encryption of the 64-byte plaintext is the vector's four blocks plus
    // one block of padding (CBC output is prefix-preserving).
    let sealed = primitives::aes_cbc_encrypt(&key, &iv, &plaintext).unwrap();
    assert_eq!(sealed.len(), 80);
    assert_eq!(&sealed[..64], &ciphertext[..]);
    // F.2.2: decrypting the vector's ciphertext (followed by that padding block) gives the
    // vector's plaintext.
    let mut input = ciphertext.clone();
    input.extend_from_slice(&sealed[64..]);
    assert_eq!(primitives::aes_cbc_decrypt(&key, &iv, &input).unwrap(), plaintext);
    // The bare vector's last plaintext byte is 0x10 but the 15 before it are not: not valid
    // PKCS#7, so it must be refused rather than truncated.
    assert_eq!(primitives::aes_cbc_decrypt(&key, &iv, &ciphertext), Err(CryptoError::BadPadding));

    // The same vector through the stored layout: prefix ‖ IV ‖ ciphertext.
    let value = seal(Provider::AesCbc, "k", &key, b"/registry/secrets/a/b", &iv, &plaintext).unwrap();
    let mut want = b"k8s:enc:aescbc:v1:k:".to_vec();
    want.extend_from_slice(&iv);
    want.extend_from_slice(&ciphertext);
    assert_eq!(&value[..want.len()], &want[..]);
}

struct GcmCase {
    key: &'static str,
    iv: &'static str,
    plaintext: &'static str,
    aad: &'static str,
    ciphertext: &'static str,
    tag: &'static str,
}

/// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)" (revised 2005), Appendix B,
/// Test Cases 2, 4 and 16 (4 and 16 with AAD; 16 with a 256-bit key). The same bytes are in
/// Apple CommonCrypto's test CCGCMTest.c (test cases 2 and 4) and in many GCM test suites
/// (test case 16).
const GCM_CASES: [GcmCase; 3] = [
    GcmCase {
        key: "00000000000000000000000000000000",
        iv: "000000000000000000000000",
        plaintext: "00000000000000000000000000000000",
        aad: "",
        ciphertext: "0388dace60b6a392f328c2b971b2fe78",
        tag: "ab6e47d42cec13bdf53a67b21257bddf",
    },
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                    1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        ciphertext: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
                     21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        tag: "5bc94fbc3221a5db94fae95ae7121a47",
    },
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                    1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
                     8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        tag: "76fc6ece0f4e1768cddf8853bb2d551b",
    },
];

#[test]
fn gcm_spec_test_cases() {
    for (i, c) in GCM_CASES.iter().enumerate() {
        let (key, iv, pt, aad) = (hex(c.key), hex(c.iv), hex(c.plaintext), hex(c.aad));
        let mut ct_tag = hex(c.ciphertext);
        ct_tag.extend(hex(c.tag));
        assert_eq!(primitives::aes_gcm_seal(&key, &iv, &aad, &pt).unwrap(), ct_tag, "case {i} seal");
        assert_eq!(primitives::aes_gcm_open(&key, &iv, &aad, &ct_tag).unwrap(), pt, "case {i} open");

        // Through the stored layout and the public decrypt: the etcd key is the AAD.
        let config = EncryptionConfig::from_yaml(&format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
             - resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: vec\n        secret: {}\n",
            b64(&key)
        ))
        .unwrap();
        let mut value = b"k8s:enc:aesgcm:v1:vec:".to_vec();
        value.extend_from_slice(&iv);
        value.extend_from_slice(&ct_tag);
        assert_eq!(seal(Provider::AesGcm, "vec", &key, &aad, &iv, &pt).unwrap(), value, "case {i} stored layout");
        assert_eq!(
            config.decrypt(&aad, &value),
            Decrypted::Decrypted { provider: Provider::AesGcm, key_name: "vec".into(), plaintext: pt.clone() },
            "case {i} decrypt"
        );
        // Any change to the AAD (the etcd key) or the tag is caught.
        let mut other_aad = aad.clone();
        other_aad.push(b'x');
        assert_eq!(primitives::aes_gcm_open(&key, &iv, &other_aad, &ct_tag), Err(CryptoError::Authentication));
        let mut bad_tag = ct_tag.clone();
        *bad_tag.last_mut().unwrap() ^= 1;
        assert_eq!(primitives::aes_gcm_open(&key, &iv, &aad, &bad_tag), Err(CryptoError::Authentication));
    }
}

/// libsodium test/default/secretbox_easy.c (key `firstkey`, `nonce`, 131-byte `m`) and its
/// expected output secretbox_easy.exp: crypto_secretbox_easy gives MAC (16) ‖ ciphertext (131),
/// the layout Go's nacl/secretbox.Seal writes. (The same vector is the NaCl secretbox test.)
#[test]
fn secretbox_libsodium_vector() {
    let key = hex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389");
    let nonce = hex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37");
    let m = hex("be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc
         e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31
         0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde
         048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864
         5e0705");
    let boxed = hex("f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce
         48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972
         71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae
         90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3
         7973f622a43d14a6599b1f654cb45a74e355a5");
    assert_eq!(m.len(), 131);
    assert_eq!(boxed.len(), 147);
    assert_eq!(primitives::secretbox_seal(&key, &nonce, &m).unwrap(), boxed);
    assert_eq!(primitives::secretbox_open(&key, &nonce, &boxed).unwrap(), m);
    let mut bad = boxed.clone();
    bad[20] ^= 0x80;
    assert_eq!(primitives::secretbox_open(&key, &nonce, &bad), Err(CryptoError::Authentication));

    // Through the stored layout and the public decrypt (secretbox has no AAD).
    let config = EncryptionConfig::from_yaml(&format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
         - resources: ['*.*']\n  providers:\n  - secretbox:\n      keys:\n      - name: nacl\n        secret: {}\n",
        b64(&key)
    ))
    .unwrap();
    let mut value = b"k8s:enc:secretbox:v1:nacl:".to_vec();
    value.extend_from_slice(&nonce);
    value.extend_from_slice(&boxed);
    assert_eq!(seal(Provider::Secretbox, "nacl", &key, b"ignored", &nonce, &m).unwrap(), value);
    assert_eq!(config.decrypt(b"/registry/anything", &value), Decrypted::Decrypted { provider: Provider::Secretbox, key_name: "nacl".into(), plaintext: m });
}

// ---- (2) round trips through an EncryptionConfiguration ---------------------------------------

const CBC_KEY1: [u8; 32] = [0x11; 32];
const CBC_ROTATED: [u8; 16] = [0x22; 16];
const CBC_A: [u8; 24] = [0x23; 24];
const CBC_AB: [u8; 24] = [0x24; 24];
const GCM_KEY: [u8; 24] = [0x33; 24];
const GCM_COLON: [u8; 32] = [0x34; 32];
const GCM_A: [u8; 16] = [0x35; 16];
const GCM_AB: [u8; 16] = [0x36; 16];
const SB_KEY: [u8; 32] = [0x44; 32];
const SB_OLD: [u8; 32] = [0x45; 32];

fn config_yaml() -> String {
    format!(
        r#"# A layout as a cluster admin writes it.
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
      - configmaps
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: {cbc1}
            - name: "rotated:2024:key"
              secret: {cbc2}
            - name: a
              secret: {cbca}
            - name: "a:b"
              secret: {cbcab}
      - aesgcm:
          keys:
            - name: gcm-key
              secret: {gcm}
            - name: "g:1"
              secret: {gcmc}
            - name: a
              secret: {gcma}
            - name: "a:b"
              secret: {gcmab}
      - identity: {{}}
  - resources: ["*.apps"]
    providers:
      - secretbox:
          keys:
            - name: "sb:main"
              secret: {sb}
            - name: old
              secret: {sbold}
      - kms:
          apiVersion: v2
          name: "kms:prod"
          endpoint: unix:///var/run/kms.sock
          timeout: 3s
  - resources: ["*.*"]
    providers:
      - kms:
          name: legacy
          endpoint: unix:///tmp/legacy.sock
          cachesize: 1000
      - identity: {{}}
"#,
        cbc1 = b64(&CBC_KEY1),
        cbc2 = b64(&CBC_ROTATED),
        cbca = b64(&CBC_A),
        cbcab = b64(&CBC_AB),
        gcm = b64(&GCM_KEY),
        gcmc = b64(&GCM_COLON),
        gcma = b64(&GCM_A),
        gcmab = b64(&GCM_AB),
        sb = b64(&SB_KEY),
        sbold = b64(&SB_OLD),
    )
}

fn config() -> EncryptionConfig {
    EncryptionConfig::from_yaml(&config_yaml()).unwrap()
}

const ETCD_KEY: &[u8] = b"/registry/secrets/default/db-password";

/// A runtime.Unknown envelope for a v1 Secret (typeMeta, raw, contentEncoding, contentType).
fn protobuf_secret() -> Vec<u8> {
    b"k8s\0\x0a\x0c\x0a\x02v1\x12\x06Secret\x12\x04\x0a\x02\x0a\x00\x1a\x00\x22\x00".to_vec()
}

fn plaintexts() -> Vec<Vec<u8>> {
    vec![
        protobuf_secret(),
        br#"{"kind":"ConfigMap","apiVersion":"v1","data":{"a":"b"}}"#.to_vec(),
        b"{\"kind\":\"Widget\"}\n".to_vec(),
        vec![0xd9, 0xd9, 0xf7, 0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x02],
        // Exactly one block and exactly two blocks: padding is then a whole block.
        br#"{"k":"0123456"}"#.iter().chain(b" ").copied().collect(),
        br#"{"kind":"Secret","data":{}} "#.iter().chain(b"    ").copied().collect(),
    ]
}

fn nonce(provider: Provider, seed: u8) -> Vec<u8> {
    let len = match provider {
        Provider::AesCbc => 16,
        Provider::AesGcm => 12,
        _ => 24,
    };
    (0..len).map(|i| seed.wrapping_mul(31).wrapping_add(i as u8)).collect()
}

#[test]
fn config_parses_into_typed_entries() {
    let c = config();
    let e = c.entries();
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].resources, ["secrets", "configmaps"]);
    let kinds: Vec<Provider> = e[0].providers.iter().map(|p| p.kind()).collect();
    assert_eq!(kinds, [Provider::AesCbc, Provider::AesGcm, Provider::Identity]);
    let names: Vec<&str> = e[0].providers[0].keys().iter().map(|k| k.name()).collect();
    assert_eq!(names, ["key1", "rotated:2024:key", "a", "a:b"]);
    assert_eq!(e[0].providers[0].keys()[1].secret(), &CBC_ROTATED);
    let ProviderConfig::Kms(kms) = &e[1].providers[1] else { panic!() };
    assert_eq!((kms.api_version, kms.name.as_str(), kms.timeout.as_deref()), (KmsVersion::V2, "kms:prod", Some("3s")));
    let ProviderConfig::Kms(kms) = &e[2].providers[0] else { panic!() };
    assert_eq!((kms.api_version, kms.name.as_str(), kms.cache_size), (KmsVersion::V1, "legacy", Some(1000)));
    // Debug output names keys but never shows secrets.
    let debug = format!("{c:?}");
    assert!(debug.contains("rotated:2024:key") && debug.contains("<32 bytes>"));
    assert!(!debug.contains(&b64(&CBC_KEY1)) && !debug.contains("17, 17, 17"), "{debug}");
}

#[test]
fn round_trip_every_provider_and_key() {
    let c = config();
    let keys: [(Provider, &str, &[u8]); 10] = [
        (Provider::AesCbc, "key1", &CBC_KEY1),
        (Provider::AesCbc, "rotated:2024:key", &CBC_ROTATED),
        (Provider::AesCbc, "a", &CBC_A),
        (Provider::AesCbc, "a:b", &CBC_AB),
        (Provider::AesGcm, "gcm-key", &GCM_KEY),
        (Provider::AesGcm, "g:1", &GCM_COLON),
        (Provider::AesGcm, "a", &GCM_A),
        (Provider::AesGcm, "a:b", &GCM_AB),
        (Provider::Secretbox, "sb:main", &SB_KEY),
        (Provider::Secretbox, "old", &SB_OLD),
    ];
    for (provider, name, secret) in keys {
        for (seed, pt) in plaintexts().into_iter().enumerate() {
            // Nonces chosen so that some begin with "b:" (the `a` key then looks like `a:b`).
            let mut n = nonce(provider, seed as u8);
            if seed == 0 {
                n[0] = b'b';
                n[1] = b':';
            }
            let value = seal(provider, name, secret, ETCD_KEY, &n, &pt).unwrap();
            assert!(value.starts_with(format!("k8s:enc:{provider}:v1:{name}:").as_bytes()));
            let got = c.decrypt(ETCD_KEY, &value);
            assert_eq!(got, Decrypted::Decrypted { provider, key_name: name.to_string(), plaintext: pt.clone() }, "{provider} {name} plaintext #{seed}");
            assert!(got.plaintext().unwrap().len() <= value.len());
        }
    }
}

#[test]
fn identity_passes_through_borrowed() {
    let c = config();
    for pt in plaintexts().into_iter().chain([b"not kubernetes at all".to_vec(), vec![]]) {
        let got = c.decrypt(ETCD_KEY, &pt);
        let Decrypted::NotEncrypted(v) = got else { panic!("{got:?}") };
        assert!(std::ptr::eq(v, pt.as_slice()), "borrowed, not copied");
        assert_eq!(got.plaintext(), Some(pt.as_slice()));
    }
    // Identity "sealing" is the plaintext itself.
    assert_eq!(seal(Provider::Identity, "", &[], ETCD_KEY, &[], b"{}").unwrap(), b"{}");
}

#[test]
fn wrong_key_same_name_fails() {
    let c = config();
    let pt = protobuf_secret();
    // aesgcm and secretbox authenticate: a different secret under a configured name.
    let v = seal(Provider::AesGcm, "gcm-key", &[0x99; 24], ETCD_KEY, &nonce(Provider::AesGcm, 1), &pt).unwrap();
    assert_eq!(c.decrypt(ETCD_KEY, &v), Decrypted::Failed { provider: Provider::AesGcm, key_name: "gcm-key".into(), reason: CryptoError::Authentication });
    let v = seal(Provider::Secretbox, "sb:main", &[0x98; 32], ETCD_KEY, &nonce(Provider::Secretbox, 1), &pt).unwrap();
    assert_eq!(c.decrypt(ETCD_KEY, &v), Decrypted::Failed { provider: Provider::Secretbox, key_name: "sb:main".into(), reason: CryptoError::Authentication });
    // aescbc has no tag: many wrong keys, never a false success; each is bad padding or,
    // when the garbage happens to end in valid padding, "implausible".
    let mut reasons = std::collections::BTreeSet::new();
    for seed in 0..=255u8 {
        let wrong: Vec<u8> = (0..32).map(|i| seed ^ (i as u8).wrapping_mul(7)).collect();
        let v = seal(Provider::AesCbc, "key1", &wrong, ETCD_KEY, &nonce(Provider::AesCbc, seed), &pt).unwrap();
        match c.decrypt(ETCD_KEY, &v) {
            Decrypted::Failed { provider: Provider::AesCbc, key_name, reason } if key_name == "key1" => {
                assert!(matches!(reason, CryptoError::BadPadding | CryptoError::Implausible), "{reason:?}");
                reasons.insert(format!("{reason:?}"));
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(reasons.contains("BadPadding"));
}

#[test]
fn aescbc_right_padding_wrong_content_is_reported_as_wrong_key() {
    // With the right key but a plaintext that is not a stored object, the padding is valid and
    // only the plausibility check can object: that is what a lucky wrong key looks like.
    let c = config();
    let v = seal(Provider::AesCbc, "key1", &CBC_KEY1, ETCD_KEY, &nonce(Provider::AesCbc, 9), b"\x01\x02garbage").unwrap();
    let got = c.decrypt(ETCD_KEY, &v);
    assert_eq!(got, Decrypted::Failed { provider: Provider::AesCbc, key_name: "key1".into(), reason: CryptoError::Implausible });
    let Decrypted::Failed { reason, .. } = got else { unreachable!() };
    assert!(reason.to_string().contains("wrong key?"));
}

#[test]
fn unknown_key_names_are_no_matching_key() {
    let c = config();
    let pt = protobuf_secret();
    for (provider, name, guess) in [
        (Provider::AesCbc, "key2", "key2"),
        (Provider::AesGcm, "other:key", "other"),
        (Provider::Secretbox, "sb", "sb"),
        // A configured name's prefix is not the name: "rotated" is not "rotated:2024:key".
        (Provider::AesCbc, "rotated", "rotated"),
    ] {
        let v = seal(provider, name, &[0x55; 32], ETCD_KEY, &nonce(provider, 2), &pt).unwrap();
        assert_eq!(c.decrypt(ETCD_KEY, &v), Decrypted::NoMatchingKey { provider, key_name_guess: guess.into() }, "{provider} {name}");
    }
}

#[test]
fn aesgcm_value_moved_to_another_key_fails_authentication() {
    let c = config();
    let v = seal(Provider::AesGcm, "g:1", &GCM_COLON, ETCD_KEY, &nonce(Provider::AesGcm, 3), &protobuf_secret()).unwrap();
    assert!(matches!(c.decrypt(ETCD_KEY, &v), Decrypted::Decrypted { .. }));
    assert_eq!(
        c.decrypt(b"/registry/secrets/default/other", &v),
        Decrypted::Failed { provider: Provider::AesGcm, key_name: "g:1".into(), reason: CryptoError::Authentication }
    );
    // secretbox and aescbc do not bind the etcd key: a moved value still opens.
    let v = seal(Provider::Secretbox, "old", &SB_OLD, ETCD_KEY, &nonce(Provider::Secretbox, 3), &protobuf_secret()).unwrap();
    assert!(matches!(c.decrypt(b"/registry/elsewhere", &v), Decrypted::Decrypted { .. }));
}

#[test]
fn damaged_values_fail_without_panicking() {
    let c = config();
    let good = seal(Provider::AesGcm, "gcm-key", &GCM_KEY, ETCD_KEY, &nonce(Provider::AesGcm, 4), &protobuf_secret()).unwrap();
    let prefix_len = b"k8s:enc:aesgcm:v1:gcm-key:".len();
    for cut in prefix_len..good.len() {
        let got = c.decrypt(ETCD_KEY, &good[..cut]);
        assert!(matches!(got, Decrypted::Failed { provider: Provider::AesGcm, .. }), "cut {cut}: {got:?}");
    }
    assert_eq!(
        c.decrypt(ETCD_KEY, b"k8s:enc:aesgcm:v1:gcm-key:"),
        Decrypted::Failed {
            provider: Provider::AesGcm,
            key_name: "gcm-key".into(),
            reason: CryptoError::Truncated { provider: Provider::AesGcm, got: 0, need: 28 },
        }
    );
    let cbc = seal(Provider::AesCbc, "key1", &CBC_KEY1, ETCD_KEY, &nonce(Provider::AesCbc, 4), &protobuf_secret()).unwrap();
    let got = c.decrypt(ETCD_KEY, &cbc[..cbc.len() - 3]);
    assert!(matches!(got, Decrypted::Failed { reason: CryptoError::NotBlockAligned(_), .. }), "{got:?}");
    let mut flipped = cbc.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    assert!(matches!(c.decrypt(ETCD_KEY, &flipped), Decrypted::Failed { .. }));
}

#[test]
fn kms_values_are_reported_not_opened() {
    let c = config();
    let envelope = b"\x0a\x06cipher\x12\x03kid"; // opaque to us
    let kms = |prefix: &str| [prefix.as_bytes(), envelope].concat();
    assert_eq!(c.decrypt(ETCD_KEY, &kms("k8s:enc:kms:v2:kms:prod:")), Decrypted::Kms { version: "v2".into(), name: "kms:prod".into() });
    assert_eq!(c.decrypt(ETCD_KEY, &kms("k8s:enc:kms:v1:legacy:")), Decrypted::Kms { version: "v1".into(), name: "legacy".into() });
    // Not configured: the name up to the next ':' is the best guess.
    assert_eq!(c.decrypt(ETCD_KEY, &kms("k8s:enc:kms:v2:elsewhere:")), Decrypted::Kms { version: "v2".into(), name: "elsewhere".into() });
    // And without any configuration at all, envelope::classify still describes it.
    let v = kms("k8s:enc:kms:v2:kms:prod:");
    let etcdscope::k8s::envelope::Value::Encrypted(e) = etcdscope::k8s::envelope::classify(&v).unwrap() else { panic!() };
    assert_eq!((e.provider.as_str(), e.version.as_str(), e.key_name_guess().as_str()), ("kms", "v2", "kms"));
    assert_eq!(seal(Provider::Kms, "x", &[], ETCD_KEY, &[], b"{}"), Err(CryptoError::Unsupported(Provider::Kms)));
}

#[test]
fn unknown_providers_versions_and_malformed_prefixes() {
    let c = config();
    assert_eq!(
        c.decrypt(ETCD_KEY, b"k8s:enc:aescbc:v2:key1:0123456789abcdef0123456789abcdef"),
        Decrypted::Unsupported { provider: "aescbc".into(), version: "v2".into() }
    );
    assert_eq!(c.decrypt(ETCD_KEY, b"k8s:enc:rot13:v1:k:abc"), Decrypted::Unsupported { provider: "rot13".into(), version: "v1".into() });
    assert_eq!(c.decrypt(ETCD_KEY, b"k8s:enc:oops"), Decrypted::Malformed);
    assert_eq!(c.decrypt(ETCD_KEY, b"k8s:enc:"), Decrypted::Malformed);
}

#[test]
fn seal_checks_key_and_nonce_sizes() {
    assert!(matches!(seal(Provider::AesCbc, "k", &[0; 20], ETCD_KEY, &[0; 16], b"{}"), Err(CryptoError::KeySize { provider: Provider::AesCbc, got: 20, .. })));
    assert!(matches!(
        seal(Provider::AesGcm, "k", &[0; 16], ETCD_KEY, &[0; 16], b"{}"),
        Err(CryptoError::NonceSize { provider: Provider::AesGcm, got: 16, need: 12 })
    ));
    assert!(matches!(
        seal(Provider::Secretbox, "k", &[0; 16], ETCD_KEY, &[0; 24], b"{}"),
        Err(CryptoError::KeySize { provider: Provider::Secretbox, got: 16, .. })
    ));
}

// ---- configuration files and errors ------------------------------------------------------------

#[test]
fn from_file_reads_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encryption.yaml");
    std::fs::write(&path, config_yaml()).unwrap();
    assert_eq!(EncryptionConfig::from_file(&path).unwrap(), config());

    let missing = dir.path().join("missing.yaml");
    let err = EncryptionConfig::from_file(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().contains("missing.yaml"));

    std::fs::write(&path, "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let err = EncryptionConfig::from_file(&path).unwrap_err();
    assert!(err.to_string().contains("encryption.yaml") && err.to_string().contains("EncryptionConfiguration"), "{err}");
}

fn config_error(providers: &str) -> String {
    let yaml = format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
         - resources: [secrets]\n  providers:\n  - identity: {{}}\n\
         - resources: [configmaps, '*.apps']\n  providers:\n{providers}"
    );
    match EncryptionConfig::from_yaml(&yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_configurations_say_where() {
    let ten = b64(&[1; 10]);
    let sixteen = b64(&[1; 16]);
    let cases: Vec<(String, &[&str])> = vec![
        (
            format!("  - identity: {{}}\n  - aescbc:\n      keys:\n      - name: ok\n        secret: {sixteen}\n      - name: short\n        secret: {ten}\n"),
            &["resources[1] (configmaps, *.apps)", "providers[1] (aescbc)", "key \"short\"", "10 bytes", "16, 24 or 32"],
        ),
        (format!("  - aesgcm:\n      keys:\n      - name: k\n        secret: {ten}\n"), &["providers[0] (aesgcm)", "key \"k\"", "10 bytes"]),
        (
            format!("  - secretbox:\n      keys:\n      - name: 'sb:1'\n        secret: {sixteen}\n"),
            &["providers[0] (secretbox)", "key \"sb:1\"", "16 bytes", "must be 32"],
        ),
        ("  - aescbc:\n      keys:\n      - name: k\n        secret: '***'\n".into(), &["providers[0] (aescbc)", "key \"k\"", "base64"]),
        ("  - aescbc:\n      keys: []\n".into(), &["providers[0] (aescbc)", "no keys"]),
        ("  - aesgbc:\n      keys: []\n".into(), &["providers[0]", "names no provider", "aesgbc"]),
        (
            format!("  - aescbc:\n      keys:\n      - name: k\n        secret: {sixteen}\n    identity: {{}}\n"),
            &["providers[0]", "more than one", "aescbc, identity"],
        ),
        ("  - kms:\n      apiVersion: v3\n      name: x\n".into(), &["providers[0] (kms)", "\"v3\""]),
        ("  - kms:\n      endpoint: unix:///x\n".into(), &["providers[0] (kms)", "no name"]),
        ("  - aescbc:\n      keys:\n      - name: k\n".into(), &["providers[0] (aescbc)", "malformed", "secret"]),
        ("    []\n".into(), &["resources[1]", "no providers"]),
    ];
    for (providers, wants) in cases {
        let msg = config_error(&providers);
        for want in wants {
            assert!(msg.contains(want), "{want:?} not in {msg:?}\nfor:\n{providers}");
        }
    }

    let bad = |yaml: &str| EncryptionConfig::from_yaml(yaml).unwrap_err();
    assert!(matches!(bad("kind: EncryptionConfiguration\nresources: []\n"), ConfigError::Kind { .. }));
    assert!(matches!(bad("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n"), ConfigError::NoResources));
    assert!(matches!(bad("resources: [unclosed\n"), ConfigError::Yaml(_)));
    let e = bad("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- providers:\n  - identity: {}\n");
    assert!(e.to_string().contains("resources[0]") && e.to_string().contains("no resources"), "{e}");
}

// ---- hostile configurations: bounded before the YAML parser sees them ---------------------------

const HEAD: &str = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n";

/// Parses `yaml`, requiring an answer within `limit`; returns the error's text.
fn refused_within(yaml: &str, limit: std::time::Duration) -> String {
    let start = std::time::Instant::now();
    let result = EncryptionConfig::from_yaml(yaml);
    let took = start.elapsed();
    assert!(took < limit, "took {took:?} (limit {limit:?})");
    match result {
        Ok(_) => panic!("accepted a hostile configuration"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    // 100,000 levels took the YAML parser over 20 s (its time grows with the square of the
    // depth); each form must be refused at once, saying why and where.
    let n = 100_000;
    let flow = format!("{HEAD}resources: {}{}\n", "[".repeat(n), "]".repeat(n));
    let maps = format!("{HEAD}resources: {}1{}\n", "{a: ".repeat(n), "}".repeat(n));
    let block = format!("{HEAD}resources:\n{}x\n", "- ".repeat(n));
    let limit = std::time::Duration::from_millis(250);
    for (name, yaml, line) in [("flow sequences", &flow, 3), ("flow mappings", &maps, 3), ("block sequences", &block, 4)] {
        let msg = refused_within(yaml, limit);
        assert!(msg.contains("nested deeper than") && msg.contains(&format!("line {line}:")), "{name}: {msg}");
    }
    // Indentation nests too: one level per step.
    let mut indented = format!("{HEAD}resources:\n");
    for i in 0..200 {
        indented.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
    }
    let msg = refused_within(&indented, limit);
    assert!(msg.contains("nested deeper than"), "{msg}");
}

#[test]
fn oversized_configurations_are_refused_before_parsing() {
    let mut yaml = config_yaml();
    yaml.push_str(&format!("# {}\n", "x".repeat(2 << 20)));
    let msg = refused_within(&yaml, std::time::Duration::from_millis(250));
    assert!(msg.contains("larger than"), "{msg}");
    // From a file, too, without reading it all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(8 << 30).unwrap();
    let start = std::time::Instant::now();
    let err = EncryptionConfig::from_file(&path).unwrap_err().to_string();
    assert!(start.elapsed() < std::time::Duration::from_secs(1) && err.contains("larger than") && err.contains("big.yaml"), "{err}");
}

#[test]
fn nesting_a_real_configuration_uses_is_accepted() {
    // Comments, quoted brackets and flow lists must not count as nesting.
    let yaml = format!(
        "{HEAD}resources:\n  - resources: [\"secrets\", '[odd]', \"a]b\"]   # [[[[ a comment, not nesting\n    providers:\n      - aesgcm:\n          keys:\n            - {{name: \"k[1\", secret: {}}}\n      - identity: {{}}\n",
        b64(&[7u8; 32])
    );
    let c = EncryptionConfig::from_yaml(&yaml).unwrap();
    assert_eq!(c.entries()[0].resources, ["secrets", "[odd]", "a]b"]);
    let yaml = config_yaml();
    assert_eq!(EncryptionConfig::from_yaml(&yaml).unwrap(), config());
}
