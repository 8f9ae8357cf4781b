//! The session-claims part of the store trait: for each session name, the SHA-256 of the
//! credential issued when it was last registered or taken over (never the credential).
//!
//! Kept in the store, not in daemon memory, so that after a daemon restart a running agent
//! that reconnects with its credential is still recognised as its session (issue 16).

use async_trait::async_trait;

use super::StoreError;

/// Store operations for session claims. Each method is one atomic operation.
#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// The credential hash recorded for `session`, if any.
    async fn claim_hash(&self, session: &str) -> Result<Option<String>, StoreError>;

    /// Compare-and-set: records `hash` for `session` if the hash recorded now is `expected`
    /// (`None` = there must be none). False (and nothing changed) when another write came
    /// first.
    async fn swap_claim(
        &self,
        session: &str,
        expected: Option<&str>,
        hash: &str,
    ) -> Result<bool, StoreError>;

    /// Forgets the claims of `sessions` (purged sessions).
    async fn drop_claims(&self, sessions: &[String]) -> Result<(), StoreError>;
}
