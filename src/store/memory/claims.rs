//! Embedded implementation of [`ClaimStore`](crate::store::ClaimStore): the twin of the
//! Redis `claims` hash (table `session_claims`: session → credential hash).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::MemoryStore;
use super::table::{Table, TableRef};
use crate::store::{ClaimStore, StoreError};

/// One session's claim: the SHA-256 (hex) of its credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    pub hash: String,
}

/// The claims part of the embedded state.
#[derive(Debug, Default)]
pub struct ClaimState {
    /// Session name → its claim.
    pub claims: Table<String, Claim>,
}

impl ClaimState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![TableRef {
            name: "session_claims",
            key_columns: &["session"],
            table: &mut self.claims,
        }]
    }
}

#[async_trait]
impl ClaimStore for MemoryStore {
    async fn claim_hash(&self, session: &str) -> Result<Option<String>, StoreError> {
        // Through `apply`, like every read: what it saw is durable before it is reported.
        self.apply(|st| st.claims.claims.get(session).map(|c| c.hash.clone()))
            .await
    }

    async fn swap_claim(
        &self,
        session: &str,
        expected: Option<&str>,
        hash: &str,
    ) -> Result<bool, StoreError> {
        self.apply(|st| {
            let current = st.claims.claims.get(session).map(|c| c.hash.as_str());
            if current != expected {
                return false;
            }
            st.claims.claims.insert(
                session.to_string(),
                Claim {
                    hash: hash.to_string(),
                },
            );
            true
        })
        .await
    }

    async fn drop_claims(&self, sessions: &[String]) -> Result<(), StoreError> {
        self.apply(|st| {
            for s in sessions {
                st.claims.claims.remove(s.as_str());
            }
        })
        .await
    }
}
