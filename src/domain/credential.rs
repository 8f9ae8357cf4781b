//! Secrets the daemon hands out — session credentials (`mcps_…`) and, later, bearer tokens
//! (`mcpc_…`) — and the one way they are stored: SHA-256, hex. The secret itself is never
//! stored, logged, or shown to a model.
//!
//! A secret is a prefix plus 64 hex digits (32 random bytes from the OS); the random part
//! carries all the strength, so a plain hash is enough (nothing to brute-force), and
//! comparing hashes leaks nothing useful about the secret.

use sha2::{Digest, Sha256};

/// Session credentials: proof that a connection is the session it names.
pub const SESSION_PREFIX: &str = "mcps_";

/// Random bytes in a secret.
pub const SECRET_BYTES: usize = 32;

/// `prefix` + the bytes as hex.
pub fn format_secret(prefix: &str, bytes: &[u8; SECRET_BYTES]) -> String {
    let mut s = String::with_capacity(prefix.len() + 2 * SECRET_BYTES);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// SHA-256 of `secret` (trimmed), hex: what the store keeps.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.trim().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A presented value worth checking: non-empty once trimmed (an unset `${VAR:-}` in
/// `.mcp.json` expands to "").
pub fn presented(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_hashes() {
        let s = format_secret(SESSION_PREFIX, &[0xab; SECRET_BYTES]);
        assert_eq!(s.len(), SESSION_PREFIX.len() + 64);
        assert!(s.starts_with("mcps_abab"));
        assert_eq!(hash(&s), hash(&format!(" {s}\n")));
        assert_ne!(hash(&s), hash("mcps_other"));
        assert_eq!(hash("abc").len(), 64);
        assert_eq!(presented(Some("  ")), None);
        assert_eq!(presented(Some(" x ")), Some("x"));
    }
}
