//! Redis implementation of the store: the system of record.
//!
//! Every call goes through [`RedisStore::run`], which bounds it by `store.timeout_ms`, so a
//! dead Redis turns into a prompt "store unavailable" instead of a hung tool call. The pool
//! reconnects by itself when Redis comes back.

pub mod keys;
mod locks;
mod messages;
mod sessions;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};

use super::{Store, StoreError, StoreKind};
use crate::config::Settings;
pub use keys::Keys;

/// Redis-backed store. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    keys: Keys,
    timeout: Duration,
    url_for_logs: String,
    settings: std::sync::Arc<Settings>,
    /// Failed calls since start, shared by clones (`/metrics`).
    errors: Arc<AtomicU64>,
}

impl RedisStore {
    /// Builds the pool. Does not require Redis to be up: the daemon starts degraded and
    /// recovers when Redis appears.
    pub async fn connect(settings: &Settings) -> Result<Self, StoreError> {
        let timeout = Duration::from_millis(settings.store.timeout_ms);
        let mut cfg = deadpool_redis::Config::from_url(settings.store.redis_url.clone());
        let mut pool_cfg = PoolConfig::new(settings.store.pool_size);
        pool_cfg.timeouts = Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        };
        cfg.pool = Some(pool_cfg);
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| StoreError::Internal(format!("cannot build the Redis pool: {e}")))?;
        Ok(Self {
            pool,
            keys: Keys::new(&settings.store.key_prefix),
            timeout,
            url_for_logs: redact_url(&settings.store.redis_url),
            settings: std::sync::Arc::new(settings.clone()),
            errors: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `f` with a pooled connection, bounded by the store timeout.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: Future<Output = Result<T, redis::RedisError>>,
    {
        let work = async {
            let conn = self.pool.get().await?;
            f(conn).await.map_err(StoreError::from)
        };
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer from Redis at {} within {} ms",
                self.url_for_logs,
                self.timeout.as_millis()
            ))),
        };
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// A dedicated (non-pooled) client, for pub/sub subscriptions.
    pub fn client(&self) -> Result<redis::Client, StoreError> {
        redis::Client::open(self.settings.store.redis_url.as_str())
            .map_err(|e| StoreError::Internal(e.to_string()))
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

    fn describe(&self) -> String {
        format!(
            "redis at {} (key prefix {})",
            self.url_for_logs,
            self.keys.prefix()
        )
    }
}

/// `redis://user:secret@host` → `redis://user:***@host`, so logs never carry a password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(redact_url("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact_url("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redact_url("redis://pw@h"), "redis://***@h");
    }
}
