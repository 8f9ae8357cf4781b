//! Every HTTP client the CLI makes (MCP on `/mcp`, `/session/claim`, hooks, `watch`,
//! `doctor`) comes from [`builder`], so an `https://` daemon with a private CA works
//! everywhere once: `--ca-cert FILE` / `MCP_COORD_CA_CERT` adds that CA to the system's roots
//! (reqwest's native-tls: the system OpenSSL and its CA store).
//!
//! The CA is read once, at the start of the command (a bad file is a usage error before
//! anything is sent), and kept for the process: the CLI has one daemon per invocation.

use std::path::Path;
use std::sync::OnceLock;

/// The CA certificates given with `--ca-cert`, read at start.
static EXTRA_ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();

/// Reads `path` (PEM, one or more CA certificates) and trusts it for every client made after.
/// The error is the sentence to show (a usage error).
pub fn trust_ca_file(path: &Path) -> Result<(), String> {
    let bad = |problem: String| {
        format!(
            "--ca-cert / MCP_COORD_CA_CERT {}: {problem}; give the PEM file of the CA (or the \
             self-signed certificate) the daemon's certificate was issued by",
            path.display()
        )
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
    if roots.is_empty() {
        return Err(bad("holds no certificate (BEGIN CERTIFICATE)".into()));
    }
    let _ = EXTRA_ROOTS.set(roots);
    Ok(())
}

/// A reqwest client builder that trusts the system's CAs and the `--ca-cert` ones.
pub fn builder() -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder();
    for root in EXTRA_ROOTS.get().into_iter().flatten() {
        builder = builder.add_root_certificate(root.clone());
    }
    builder
}

/// [`builder`] with nothing else set.
pub fn client() -> Result<reqwest::Client, String> {
    builder()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// When `detail` (a failed request's innermost error) says the daemon's certificate was not
/// trusted: the sentence that says what to give. `None` for any other failure.
pub fn untrusted_certificate(base: &str, detail: &str) -> Option<String> {
    detail.to_lowercase().contains("certificate").then(|| {
        format!(
            "the daemon at {base} presented a TLS certificate this machine does not trust \
             ({detail}): give the CA (or the self-signed certificate) it was issued by with \
             --ca-cert FILE or MCP_COORD_CA_CERT, and check that the URL's host name is one \
             the certificate names"
        )
    })
}
