//! Embedded implementation of [`BindingStore`](crate::store::BindingStore): the twin of the
//! `bindings:claude:{id}` keys, with their expiry.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{MemoryStore, wall_clock_ms};
use crate::store::{BindingStore, StoreError};

/// The bindings part of the embedded state.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BindingState {
    /// Claude session id → (session name, expires at ms).
    pub claude: HashMap<String, (String, i64)>,
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
        let expires = now.saturating_add(ttl_ms.max(1) as i64);
        self.with_state(|st| {
            // Lapsed entries go when the next one is written (Redis expires them by itself).
            st.bindings.claude.retain(|_, (_, at)| *at > now);
            st.bindings
                .claude
                .insert(claude_id.to_string(), (session.to_string(), expires));
        });
        Ok(())
    }

    async fn claude_binding(&self, claude_id: &str) -> Result<Option<String>, StoreError> {
        let now = wall_clock_ms();
        Ok(self.with_state(|st| {
            st.bindings
                .claude
                .get(claude_id)
                .filter(|(_, at)| *at > now)
                .map(|(name, _)| name.clone())
        }))
    }

    async fn drop_claude_binding(
        &self,
        claude_id: &str,
        session: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.with_state(|st| {
            let current = st
                .bindings
                .claude
                .get(claude_id)
                .map(|(name, _)| name.as_str());
            if current == Some(session) {
                st.bindings.claude.remove(claude_id);
                true
            } else {
                false
            }
        }))
    }
}
