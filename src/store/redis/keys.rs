//! The Redis key layout, in one place, so `redis-cli` users and the README agree with code.
//!
//! With the default prefix `claude:` (the seed's):
//!
//! | key | type | what |
//! |---|---|---|
//! | `claude:locks:{kind}:{name}` | string (JSON) | a held lock; `GET` shows holder, token, reason; TTL = lock TTL |
//! | `claude:locks:index` | zset | held lock names → expiry ms (what `list_locks` reads; never `KEYS`) |
//! | `claude:sessions:{name}` | string (JSON) | a session record |
//! | `claude:sessions:last_seen` | zset | live session names → last activity ms (tiers, reaper) |
//! | `claude:heartbeat:{name}` | string | last activity ms, TTL = the active threshold (seed compatibility) |
//!
//! Each capability adds its keys here, next to these.

/// Builds keys under a configurable prefix. A prefix like `{claude}:` puts every key in one
/// Redis Cluster slot, so multi-key scripts stay legal there.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `claude:locks:resource:pytest` for the canonical lock name `resource:pytest`.
    pub fn lock(&self, canonical_name: &str) -> String {
        format!("{}locks:{}", self.prefix, canonical_name)
    }

    pub fn lock_index(&self) -> String {
        format!("{}locks:index", self.prefix)
    }

    pub fn session(&self, name: &str) -> String {
        format!("{}sessions:{}", self.prefix, name)
    }

    pub fn sessions_last_seen(&self) -> String {
        format!("{}sessions:last_seen", self.prefix)
    }

    pub fn heartbeat(&self, name: &str) -> String {
        format!("{}heartbeat:{}", self.prefix, name)
    }
}
