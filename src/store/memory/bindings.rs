//! Embedded implementation of [`BindingStore`](crate::store::BindingStore): the twin of the
//! `bindings:claude:{id}` keys, with their expiry (table `claude_bindings`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::table::{Table, TableRef};
use super::{MemoryStore, wall_clock_ms};
use crate::store::{BindingStore, StoreError};

/// One Claude session id's binding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaudeBinding {
    pub session: String,
    pub expires_at: i64,
}

/// The bindings part of the embedded state.
#[derive(Debug, Default)]
pub struct BindingState {
    /// Claude session id → its binding.
    pub claude: Table<String, ClaudeBinding>,
}

impl BindingState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![TableRef::new(
            "claude_bindings",
            &["claude_id"],
            &mut self.claude,
        )]
    }
}

#[async_trait]
impl BindingStore for MemoryStore {
    async fn put_claude_binding(
        &self,
        claude_id: &str,
        session: &str,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let now = wall_clock_ms();
        let binding = ClaudeBinding {
            session: session.to_string(),
            expires_at: now.saturating_add(ttl_ms.max(1) as i64),
        };
        self.apply(|st| {
            // Lapsed entries go when the next one is written (Redis expires them by itself).
            st.bindings.claude.retain(|_, b| b.expires_at > now);
            st.bindings.claude.insert(claude_id.to_string(), binding);
        })
        .await
    }

    async fn claude_binding(&self, claude_id: &str) -> Result<Option<String>, StoreError> {
        let now = wall_clock_ms();
        self.apply(|st| {
            st.bindings
                .claude
                .get(claude_id)
                .filter(|b| b.expires_at > now)
                .map(|b| b.session.clone())
        })
        .await
    }

    async fn drop_claude_binding(
        &self,
        claude_id: &str,
        session: &str,
    ) -> Result<bool, StoreError> {
        self.apply(|st| {
            let current = st
                .bindings
                .claude
                .get(claude_id)
                .map(|b| b.session.as_str());
            if current == Some(session) {
                st.bindings.claude.remove(claude_id);
                true
            } else {
                false
            }
        })
        .await
    }
}
