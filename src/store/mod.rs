//! The one persistence trait and its implementations.
//!
//! Each capability has its own sub-trait in its own file ([`LockStore`], [`SessionStore`],
//! [`MessageStore`], [`BindingStore`], [`ClaimStore`] (session credentials), [`TaskStore`],
//! [`AuditStore`]); [`Store`] is all of them plus the basics every front-end needs.
//! Redis ([`redis::RedisStore`]) is the system of record; the embedded store
//! ([`memory::MemoryStore`]) has the same semantics for a zero-setup start. Both run the
//! same conformance suite (`tests/it/conformance`).

pub mod audit;
pub mod bindings;
pub mod claims;
pub mod error;
pub mod locks;
pub mod memory;
pub mod messages;
pub mod redis;
pub mod sessions;
pub mod tasks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use audit::AuditStore;
pub use bindings::BindingStore;
pub use claims::ClaimStore;
pub use error::StoreError;
pub use locks::LockStore;
pub use messages::MessageStore;
pub use sessions::SessionStore;
pub use tasks::TaskStore;

use crate::config::Settings;

/// Which implementation is behind the trait (shown by `/health` and the start-up log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Redis,
    Embedded,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Redis => "redis",
            StoreKind::Embedded => "embedded",
        }
    }
}

/// Grants held back after the store lost its data (see `redis/guard.rs`): until `until_ms`
/// every lock granted before the loss has expired, so no one can still hold one.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct GrantHold {
    /// Store clock (ms) at which grants resume by themselves.
    pub until_ms: i64,
    /// Store clock (ms) at which the loss was seen.
    pub since_ms: i64,
    /// What was seen (`the epoch marker vanished: Redis restarted without persistence…`).
    pub reason: String,
}

/// Everything the service layer needs from persistence.
#[async_trait]
pub trait Store:
    LockStore
    + SessionStore
    + MessageStore
    + BindingStore
    + ClaimStore
    + TaskStore
    + AuditStore
    + Send
    + Sync
    + 'static
{
    fn kind(&self) -> StoreKind;

    /// One round trip; returns how long it took.
    async fn ping(&self) -> Result<Duration, StoreError>;

    /// The store's clock in milliseconds since the Unix epoch. With Redis this is `TIME`, so
    /// every daemon sharing one Redis agrees on "now".
    async fn now_ms(&self) -> Result<i64, StoreError>;

    /// Where this store points, for logs and `/health` (a Redis URL without its password,
    /// or a data dir).
    fn describe(&self) -> String;

    /// The store server's version (Redis `INFO server`), for `doctor`; `None` when there is
    /// no separate server (the embedded store).
    async fn server_version(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// Store calls that failed since start (for `mcp_coord_store_errors_total`). Redis counts
    /// every failed or timed-out call in `RedisStore::run`; the embedded store cannot be
    /// unreachable, so it reports 0.
    fn errors_total(&self) -> u64 {
        0
    }

    /// The running data-loss hold, as last seen (no store call). The embedded store never
    /// loses acknowledged data, so it has none.
    fn grant_hold(&self) -> Option<GrantHold> {
        None
    }

    /// Ends a running data-loss hold early (an admin's decision: every holder from before
    /// the loss is known to be gone). Returns the hold that was ended, if one was running.
    async fn resume_grants(&self, _by: &str) -> Result<Option<GrantHold>, StoreError> {
        Ok(None)
    }

    /// A warning about how little this store keeps across its own restarts (Redis without
    /// AOF), for the start-up log and `doctor`; `None` when there is nothing to say or the
    /// store was not reached yet.
    fn persistence_warning(&self) -> Option<String> {
        None
    }

    /// Called once when the daemon stops: the embedded store closes its SQLite file.
    async fn shutdown(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Opens the store the settings select: Redis when a URL is set, else the embedded store.
pub async fn open(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    if settings.store.redis_url.is_empty() {
        let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
        let dir = settings.data_dir(&env);
        Ok(Arc::new(memory::MemoryStore::open(settings, &dir).await?))
    } else {
        Ok(Arc::new(redis::RedisStore::connect(settings).await?))
    }
}
