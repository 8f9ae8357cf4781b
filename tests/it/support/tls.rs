//! Certificates for the HTTPS tests, made at test time with rcgen (no key files in the repo):
//! a CA of its own and a server certificate it signed, for `localhost` and `127.0.0.1`,
//! written as PEM files the daemon's `[tls]` settings and the clients' `--ca-cert` read.

use std::path::PathBuf;

use mcp_coord::config::Settings;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// One test CA and the server certificate it signed, as files in a temp dir.
pub struct TestCa {
    _dir: tempfile::TempDir,
    /// The CA certificate (what a client trusts).
    pub ca: PathBuf,
    /// The server certificate (`tls.cert`).
    pub cert: PathBuf,
    /// Its private key (`tls.key`).
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name` and a server certificate for localhost / 127.0.0.1.
    pub fn new(name: &str) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("mcp-coord test CA {name}"));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let server_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = server_params.signed_by(&server_key, &ca).unwrap();

        let dir = tempfile::Builder::new()
            .prefix("mcp-coord-tls-")
            .tempdir()
            .unwrap();
        let write = |file: &str, pem: String| {
            let path = dir.path().join(file);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let ca_path = write("ca.pem", ca.pem());
        let cert = write("cert.pem", server.pem());
        let key = write("key.pem", server_key.serialize_pem());
        Self {
            ca: ca_path,
            cert,
            key,
            _dir: dir,
        }
    }

    /// Settings tweak: serve HTTPS with this CA's server certificate.
    pub fn serve_with(&self, s: &mut Settings) {
        s.tls.cert = self.cert.display().to_string();
        s.tls.key = self.key.display().to_string();
    }

    /// An HTTP client that trusts this CA.
    pub fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap()
    }
}
