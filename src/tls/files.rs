//! Reading `[tls] cert` and `key` (PEM) into a rustls [`ServerConfig`]. Called when the
//! settings are validated, so a missing file, a file without a key or a key that belongs to
//! another certificate stops the start with a sentence naming the setting, not at the first
//! client's handshake.

use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::{ConfigError, TlsSettings};

/// What a certificate file must hold.
const CERT_ALLOWED: &str = "a PEM file with the server certificate first, then any intermediate \
                            certificates (BEGIN CERTIFICATE), readable by the daemon";
/// What a key file must hold.
const KEY_ALLOWED: &str = "a PEM file with the certificate's private key (BEGIN PRIVATE KEY, \
                           BEGIN EC PRIVATE KEY or BEGIN RSA PRIVATE KEY), unencrypted, \
                           readable by the daemon";

/// The server config for `tls`, or `None` when TLS is off (neither path set).
pub fn server_config(tls: &TlsSettings) -> Result<Option<Arc<ServerConfig>>, ConfigError> {
    match (tls.cert.is_empty(), tls.key.is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {}
        (cert_missing, _) => {
            let (set, unset) = if cert_missing {
                ("tls.key", "tls.cert")
            } else {
                ("tls.cert", "tls.key")
            };
            return Err(ConfigError::new(
                unset,
                format!("{set} is set but {unset} is not"),
                "both tls.cert and tls.key (MCP_COORD_TLS_CERT, MCP_COORD_TLS_KEY) for HTTPS, \
                 or neither for plain HTTP",
            ));
        }
    }
    let chain = certificates(&tls.cert)?;
    let key = private_key(&tls.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new("tls", e.to_string(), "TLS 1.2 or 1.3"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| key_error(&tls.key, &tls.cert, &e))?;
    // axum serves HTTP/1.1 only (its http2 feature is off): say so, so no client tries h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

fn read(setting: &str, path: &str, allowed: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::new(setting, format!("cannot read {path:?}: {e}"), allowed))
}

/// The certificate chain in `path`, leaf first.
fn certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read("tls.cert", path, CERT_ALLOWED)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ConfigError::new(
                "tls.cert",
                format!("{path:?} is not valid PEM: {e}"),
                CERT_ALLOWED,
            )
        })?;
    if chain.is_empty() {
        return Err(ConfigError::new(
            "tls.cert",
            format!("{path:?} holds no certificate"),
            CERT_ALLOWED,
        ));
    }
    Ok(chain)
}

/// The private key in `path`.
fn private_key(path: &str) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let bytes = read("tls.key", path, KEY_ALLOWED)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        let problem = match e {
            pem::Error::NoItemsFound => format!(
                "{path:?} holds no private key (a certificate file given as the key, or an \
                 encrypted key?)"
            ),
            other => format!("{path:?} is not a valid PEM key: {other}"),
        };
        ConfigError::new("tls.key", problem, KEY_ALLOWED)
    })
}

/// rustls refused the pair: most often the key belongs to another certificate.
fn key_error(key: &str, cert: &str, e: &rustls::Error) -> ConfigError {
    let problem = match e {
        rustls::Error::InconsistentKeys(_) => {
            format!("the key in {key:?} does not belong to the first certificate in {cert:?}")
        }
        other => format!("cannot use the key in {key:?} with {cert:?}: {other}"),
    };
    ConfigError::new(
        "tls.key",
        problem,
        "the private key of the first certificate in tls.cert (an RSA, ECDSA P-256/P-384 or Ed25519 key)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate and its key as PEM files in a temp dir.
    fn pair(dir: &std::path::Path, name: &str) -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        (cert.display().to_string(), key.display().to_string())
    }

    fn settings(cert: &str, key: &str) -> TlsSettings {
        TlsSettings {
            cert: cert.into(),
            key: key.into(),
        }
    }

    fn error(tls: &TlsSettings) -> String {
        server_config(tls).expect_err("must be refused").to_string()
    }

    #[test]
    fn neither_path_is_plain_http_and_a_matching_pair_serves_http1() {
        assert!(server_config(&TlsSettings::default()).unwrap().is_none());
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        let config = server_config(&settings(&cert, &key)).unwrap().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn one_path_without_the_other_names_the_missing_one() {
        let e = error(&settings("/x/cert.pem", ""));
        assert!(
            e.starts_with("bad setting tls.key: tls.cert is set but tls.key is not"),
            "{e}"
        );
        let e = error(&settings("", "/x/key.pem"));
        assert!(
            e.starts_with("bad setting tls.cert: tls.key is set but tls.cert is not"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_file_is_named_with_the_os_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = pair(dir.path(), "a");
        let e = error(&settings("/nonexistent/cert.pem", &key));
        assert!(
            e.contains("tls.cert: cannot read \"/nonexistent/cert.pem\""),
            "{e}"
        );
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn a_file_without_a_key_or_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        // The certificate given as the key.
        let e = error(&settings(&cert, &cert));
        assert!(e.contains("holds no private key"), "{e}");
        // The key given as the certificate.
        let e = error(&settings(&key, &key));
        assert!(
            e.contains("tls.cert") && e.contains("holds no certificate"),
            "{e}"
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = pair(dir.path(), "a");
        let (_, other_key) = pair(dir.path(), "b");
        let e = error(&settings(&cert, &other_key));
        assert!(
            e.contains("does not belong to the first certificate"),
            "{e}"
        );
    }
}
