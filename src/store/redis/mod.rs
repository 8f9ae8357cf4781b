//! Redis implementation of the store: the system of record.
//!
//! Every call goes through [`RedisStore::run`], which bounds it by `store.timeout_ms`, so a
//! dead Redis turns into a prompt "store unavailable" instead of a hung tool call.
//!
//! Connections: redis-rs's `MultiplexedConnection` pipelines concurrent commands over one
//! socket and is meant to be shared by cloning. We check one out of the deadpool pool and
//! share it, rather than checking out per call: deadpool "recycles" a connection on every
//! checkout with an `UNWATCH` + `PING` round trip, which would double the cost of each store
//! call. When the shared connection breaks, it goes back to the pool (which discards it) and
//! the next call checks out a fresh one — so the daemon reconnects by itself.

#[macro_use]
mod lua;
mod audit;
mod bindings;
mod claims;
mod daemons;
mod guard;
pub mod keys;
mod locks;
mod messages;
mod sessions;
mod tasks;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use redis::aio::MultiplexedConnection;

use super::{Store, StoreError, StoreKind};
use crate::config::Settings;
pub use keys::Keys;

/// Redis-backed store. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    /// The checked-out connection every call shares (see the module docs).
    shared: Arc<parking_lot::RwLock<Option<Arc<deadpool_redis::Connection>>>>,
    keys: Keys,
    timeout: Duration,
    url_for_logs: String,
    /// The Redis URL, for the dedicated pub/sub clients.
    url: String,
    lock_events: locks::LockEvents,
    message_feeds: messages::MessageFeeds,
    /// Failed calls since start, shared by clones (`/metrics`).
    errors: Arc<AtomicU64>,
    /// What the data-loss guard knows (marker id, hold, run_id, AOF); see `guard.rs`.
    guard: Arc<guard::Guard>,
    /// This daemon in the registry of live daemons (its waiters name it); see `daemons.rs`.
    daemon: Arc<daemons::Registration>,
}

impl RedisStore {
    /// Builds the pool and joins the daemon registry. Does not require Redis to be up: the
    /// daemon starts degraded (after waiting the store timeout for its first registry beat)
    /// and recovers when Redis appears.
    pub async fn connect(settings: &Settings) -> Result<Self, StoreError> {
        let timeout = Duration::from_millis(settings.store.timeout_ms);
        // redis-rs gives every connection its own 500 ms response timeout and 1 s connect
        // timeout by default; under load a slow script then failed as "timed out" although
        // Redis applied it. `store.timeout_ms` is the one bound: `run` enforces it per call.
        let connection = redis::AsyncConnectionConfig::new()
            .set_response_timeout(None)
            .set_connection_timeout(Some(timeout));
        let manager =
            deadpool_redis::Manager::new_with_config(settings.store.redis_url.as_str(), connection)
                .map_err(|e| StoreError::Internal(format!("invalid Redis URL: {e}")))?;
        let mut pool_cfg = PoolConfig::new(settings.store.pool_size);
        pool_cfg.timeouts = Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        };
        let pool = Pool::builder(manager)
            .config(pool_cfg)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Internal(format!("cannot build the Redis pool: {e}")))?;
        let keys = Keys::new(&settings.store.key_prefix);
        let store = Self {
            pool,
            daemon: Arc::new(daemons::Registration::new(&keys)),
            shared: Default::default(),
            keys,
            timeout,
            url_for_logs: crate::config::redact_url(&settings.store.redis_url),
            url: settings.store.redis_url.clone(),
            lock_events: locks::LockEvents::default(),
            message_feeds: messages::MessageFeeds::default(),
            errors: Arc::new(AtomicU64::new(0)),
            guard: Arc::new(guard::Guard::new(settings.locks.max_timeout_seconds)),
        };
        store.spawn_guard_watch();
        store.spawn_daemon_beat().await;
        Ok(store)
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Runs `f` with the shared connection, bounded by the store timeout.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, redis::RedisError>>,
    {
        let result = self.run_bounded(f).await;
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Checking out and the call itself share one deadline. No lock guard of `shared` is
    /// alive while anything awaits or while `discard` takes the write lock: a guard kept
    /// through that call once wedged the whole daemon after a Redis pause (issue 12).
    async fn run_bounded<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, redis::RedisError>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let (slot, conn) = tokio::time::timeout_at(deadline, self.connection())
            .await
            .map_err(|_| self.no_answer())??;
        match tokio::time::timeout_at(deadline, f(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if is_connection_failure(&e) {
                    self.discard(&slot);
                }
                Err(StoreError::from(e))
            }
            Err(_) => {
                // A hung socket looks exactly like this: start over on the next call.
                self.discard(&slot);
                Err(self.no_answer())
            }
        }
    }

    fn no_answer(&self) -> StoreError {
        StoreError::Unavailable(format!(
            "no answer from Redis at {} within {} ms",
            self.url_for_logs,
            self.timeout.as_millis()
        ))
    }

    /// The shared connection, checking one out of the pool if there is none.
    async fn connection(
        &self,
    ) -> Result<(Arc<deadpool_redis::Connection>, MultiplexedConnection), StoreError> {
        let current = self.shared.read().clone();
        if let Some(slot) = current {
            let conn = (**slot).clone();
            return Ok((slot, conn));
        }
        let fresh = Arc::new(self.pool.get().await?);
        // Another call may have checked one out meanwhile; use theirs (ours goes back to the
        // pool when `fresh` drops, after the guard).
        let slot = self
            .shared
            .write()
            .get_or_insert_with(|| fresh.clone())
            .clone();
        let conn = (**slot).clone();
        Ok((slot, conn))
    }

    /// Drops `slot` from the shared place (if it is still there), so the pool discards it.
    fn discard(&self, slot: &Arc<deadpool_redis::Connection>) {
        let removed = {
            let mut shared = self.shared.write();
            if shared.as_ref().is_some_and(|s| Arc::ptr_eq(s, slot)) {
                shared.take()
            } else {
                None
            }
        };
        // Dropped outside our lock: handing a connection back takes the pool's own lock.
        drop(removed);
    }

    /// A dedicated (non-pooled) client, for pub/sub subscriptions.
    pub fn client(&self) -> Result<redis::Client, StoreError> {
        redis::Client::open(self.url.as_str()).map_err(|e| StoreError::Internal(e.to_string()))
    }
}

#[async_trait]
impl Store for RedisStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Redis
    }

    async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await?;
        Ok(started.elapsed())
    }

    async fn now_ms(&self) -> Result<i64, StoreError> {
        let (secs, micros): (i64, i64) = self
            .run(|mut c| async move { redis::cmd("TIME").query_async(&mut c).await })
            .await?;
        Ok(secs * 1000 + micros / 1000)
    }

    fn errors_total(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn grant_hold(&self) -> Option<crate::store::GrantHold> {
        self.grant_hold_seen()
    }

    async fn resume_grants(&self, by: &str) -> Result<Option<crate::store::GrantHold>, StoreError> {
        self.resume_grants_now(by).await
    }

    fn persistence_warning(&self) -> Option<String> {
        self.persistence_warning_text()
    }

    async fn server_version(&self) -> Result<Option<String>, StoreError> {
        let info: String = self
            .run(|mut c| async move {
                redis::cmd("INFO")
                    .arg("server")
                    .query_async::<String>(&mut c)
                    .await
            })
            .await?;
        Ok(info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_string()))
    }

    async fn shutdown(&self) -> Result<(), StoreError> {
        self.leave_registry().await
    }

    fn describe(&self) -> String {
        format!(
            "redis at {} (key prefix {})",
            self.url_for_logs,
            self.keys.prefix()
        )
    }
}

/// Errors after which the connection cannot be trusted any more.
fn is_connection_failure(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}
