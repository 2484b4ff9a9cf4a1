//! HTTPS for `serve`: a certificate the user gives (`--tls-cert`, `--tls-key`), or one made at
//! start for this process when a token or client certificates need TLS and none is given.
//! kubectl sends a bearer token only over TLS, so `--token` alone gets a generated certificate,
//! whose PEM goes into the kubeconfig as the cluster's CA: clients verify the server, nothing is
//! written to disk but the kubeconfig. `--client-ca` makes the server require client
//! certificates signed by that CA.

use crate::error::{Error, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;

/// The TLS files and choices of a `serve` command line.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
    pub client_ca: Option<std::path::PathBuf>,
}

/// The server's TLS: its configuration, and the CA clients should trust when it was generated.
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// PEM of the generated certificate (`None` for the user's own).
    pub generated_ca: Option<String>,
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Usage(format!("{flag} {}: {e}", path.display())))
}

/// The TLS to serve with, if any: the given files, or a generated certificate for `host` when
/// `needed` (a token or client certificates ask for TLS) and none is given.
pub fn configure(files: &TlsFiles, needed: bool, host: &str) -> Result<Option<Tls>> {
    let (chain, key, generated_ca) = match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(&read("--tls-cert", cert)?)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::Usage(format!("--tls-cert {}: not PEM certificates: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(Error::Usage(format!("--tls-cert {}: holds no certificate", cert.display())));
            }
            let key = PrivateKeyDer::from_pem_slice(&read("--tls-key", key)?)
                .map_err(|e| Error::Usage(format!("--tls-key {}: not a PEM private key: {e}", key.display())))?;
            (chain, key, None)
        }
        (Some(_), None) | (None, Some(_)) => return Err(Error::Usage("--tls-cert and --tls-key go together".into())),
        (None, None) if needed || files.client_ca.is_some() => generate(host)?,
        (None, None) => return Ok(None),
    };
    // ring, the provider tonic's TLS already builds (rustls marks it deprecated only for lacking
    // post-quantum key exchange, which kubectl and client-go do not offer either).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(|e| Error::Usage(format!("TLS: {e}")))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&read("--client-ca", ca)?) {
                let cert = cert.map_err(|e| Error::Usage(format!("--client-ca {}: not PEM certificates: {e}", ca.display())))?;
                roots.add(cert).map_err(|e| Error::Usage(format!("--client-ca {}: {e}", ca.display())))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::Usage(format!("--client-ca {}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| Error::Usage(format!("--tls-cert/--tls-key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Tls { config: Arc::new(config), generated_ca }))
}

/// A self-signed certificate for `host`, `localhost` and 127.0.0.1, made for this process.
fn generate(host: &str) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, Option<String>)> {
    let failed = |e: rcgen::Error| Error::Usage(format!("generating the server's certificate: {e}"));
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !names.iter().any(|n| n == host) && !host.is_empty() {
        names.push(host.to_string());
    }
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "etcdscope serve");
    let cert = params.self_signed(&key).map_err(failed)?;
    let pem = cert.pem();
    let key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| Error::Usage(format!("generating the server's certificate: {e}")))?;
    Ok((vec![cert.der().clone()], key, Some(pem)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_alone_gets_a_generated_certificate() {
        let tls = configure(&TlsFiles::default(), true, "127.0.0.1").unwrap().unwrap();
        assert!(tls.generated_ca.unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(configure(&TlsFiles::default(), false, "127.0.0.1").unwrap().is_none());
        let half = TlsFiles { cert: Some("x.pem".into()), ..TlsFiles::default() };
        assert!(configure(&half, false, "h").is_err());
    }
}
