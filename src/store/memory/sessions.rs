//! Embedded implementation of [`SessionStore`](crate::store::SessionStore).

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::SessionStore;

/// The sessions part of the embedded state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SessionState {
    /// Live session name → last activity (ms). The embedded twin of Redis's
    /// `sessions:last_seen` zset; lock decisions read it for the holder's tier.
    pub last_seen: std::collections::HashMap<String, i64>,
}

#[async_trait]
impl SessionStore for MemoryStore {}
