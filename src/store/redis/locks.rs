//! Redis implementation of [`LockStore`](crate::store::LockStore): one Lua script per
//! decision (`scripts/*.lua`, built by `script!`: `common.lua` prepended), results as JSON.

use std::sync::{Arc, LazyLock, OnceLock};

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::Script;
use tokio::sync::broadcast;

use super::RedisStore;
use crate::domain::tiers::TierThresholds;
use crate::store::StoreError;
use crate::store::locks::{
    AcquireOutcome, AcquireRequest, ExtendOutcome, ExtendRequest, ForceRelease,
    ForceReleaseOutcome, LockListing, LockQueue, LockStatus, LockStore, NOTE_TTL_MS,
    ReleaseOutcome,
};

/// What `queues.lua` returns (an object, so an empty list survives cjson).
#[derive(serde::Deserialize)]
struct QueueListing {
    #[serde(default, deserialize_with = "crate::store::locks::lua_vec")]
    queues: Vec<LockQueue>,
}

static ACQUIRE: LazyLock<Script> = script!("acquire.lua");
static RELEASE: LazyLock<Script> = script!("release.lua");
static EXTEND: LazyLock<Script> = script!("extend.lua");
static CHECK: LazyLock<Script> = script!("check.lua");
static LIST: LazyLock<Script> = script!("list.lua");
static HELD_NAMES: LazyLock<Script> = script!("held_names.lua");
static HELD: LazyLock<Script> = script!("held.lua");
static LEAVE_QUEUE: LazyLock<Script> = script!("leave_queue.lua");
static QUEUES: LazyLock<Script> = script!("queues.lua");
static RELEASE_ALL: LazyLock<Script> = script!("release_all.lua");
static FORCE_RELEASE: LazyLock<Script> = script!("force_release.lua");

/// Fans the `events:locks` channel out to waiters: one subscriber connection per store
/// (started on first use, re-subscribing after a Redis outage), never a pooled connection.
#[derive(Clone, Default)]
pub struct LockEvents {
    sender: Arc<OnceLock<broadcast::Sender<String>>>,
}

impl RedisStore {
    pub(super) async fn eval_json<T: serde::de::DeserializeOwned>(
        &self,
        script: &'static Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<T, StoreError> {
        let raw: String = self
            .run(|mut conn| async move {
                let mut inv = script.prepare_invoke();
                for k in &keys {
                    inv.key(k);
                }
                for a in &args {
                    inv.arg(a);
                }
                inv.invoke_async(&mut conn).await
            })
            .await?;
        serde_json::from_str(&raw)
            .map_err(|e| StoreError::Internal(format!("unexpected script result ({e}): {raw}")))
    }

    fn start_lock_events(&self) -> broadcast::Sender<String> {
        let (tx, _) = broadcast::channel(1024);
        // The task holds a weak sender: once the store is dropped it stops at the next event
        // or reconnect, instead of living for the rest of the process.
        let weak = tx.downgrade();
        let client = self.client();
        let channel = self.keys().lock_events();
        tokio::spawn(async move {
            let Ok(client) = client else {
                tracing::warn!("lock events: bad Redis URL; waiters fall back to re-checking");
                return;
            };
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(&channel).await.is_ok() {
                            let mut stream = pubsub.on_message();
                            while let Some(msg) = stream.next().await {
                                let Some(sender) = weak.upgrade() else { return };
                                if let Ok(name) = msg.get_payload::<String>() {
                                    let _ = sender.send(name);
                                }
                            }
                        }
                    }
                    Err(e) => tracing::debug!("lock events: cannot subscribe ({e}); retrying"),
                }
                if weak.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        tx
    }

    fn tier_args(tiers: TierThresholds) -> [String; 3] {
        [
            tiers.active_ms.to_string(),
            tiers.idle_ms.to_string(),
            tiers.stale_ms.to_string(),
        ]
    }
}

#[async_trait]
impl LockStore for RedisStore {
    async fn acquire(&self, req: &AcquireRequest) -> Result<AcquireOutcome, StoreError> {
        let k = self.keys();
        let waiter_id = req.waiter.as_ref().map(|w| w.id.as_str()).unwrap_or("");
        let mut keys = vec![
            k.lock(&req.name),
            k.lock_fence(&req.name),
            k.lock_index(),
            k.lock_names(),
            k.lock_queue(&req.name),
            k.lock_delay(&req.name),
            k.sessions_last_seen(),
            k.locks_held(&req.session),
            k.lock_notes(&req.session),
            k.lock_waiter(if waiter_id.is_empty() { "-" } else { waiter_id }),
            k.store_epoch(),
            k.daemons(),
        ];
        keys.extend(req.ancestors.iter().map(|a| k.lock(a)));
        let [active, idle, stale] = Self::tier_args(req.tiers);
        let mut args = vec![
            req.name.clone(),
            req.session.clone(),
            req.ttl_ms.to_string(),
            req.reason.clone().unwrap_or_default(),
            if req.force { "1" } else { "0" }.to_string(),
            active,
            idle,
            stale,
            req.lock_delay_ms.to_string(),
            waiter_id.to_string(),
            req.waiter
                .as_ref()
                .map(|w| w.ttl_ms)
                .unwrap_or(1)
                .to_string(),
            k.prefix().to_string(),
            req.descendant_prefix.clone().unwrap_or_default(),
            k.lock_events(),
            NOTE_TTL_MS.to_string(),
            req.ancestors.len().to_string(),
            String::new(), // the known epoch id, set below
            self.daemon_id().to_string(),
        ];
        args.extend(req.ancestors.iter().cloned());
        const EPOCH_ARG: usize = 16;
        // At most twice: a changed marker is checked (a new Redis, or a loss declared) and
        // the decision asked again with the id now known.
        for attempt in 0..2 {
            args[EPOCH_ARG] = self.known_epoch();
            let answer: serde_json::Value =
                self.eval_json(&ACQUIRE, keys.clone(), args.clone()).await?;
            if answer["outcome"] != "epoch_changed" {
                return serde_json::from_value(answer.clone()).map_err(|e| {
                    StoreError::Internal(format!("unexpected lock script result ({e}): {answer}"))
                });
            }
            let seen = if attempt == 0 && !args[EPOCH_ARG].is_empty() {
                "the epoch marker vanished or changed under a grant"
            } else {
                "the epoch marker changed again"
            };
            self.check_epoch(seen).await?;
        }
        Err(StoreError::Unavailable(format!(
            "the data-loss guard's marker {} keeps changing under this daemon; something is \
             deleting keys (FLUSHALL? a cleanup script?)",
            k.store_epoch()
        )))
    }

    async fn release(
        &self,
        name: &str,
        session: &str,
        tiers: TierThresholds,
    ) -> Result<ReleaseOutcome, StoreError> {
        let k = self.keys();
        let [active, idle, stale] = Self::tier_args(tiers);
        self.eval_json(
            &RELEASE,
            vec![
                k.lock(name),
                k.lock_index(),
                k.lock_names(),
                k.sessions_last_seen(),
            ],
            vec![
                name.to_string(),
                session.to_string(),
                k.prefix().to_string(),
                k.lock_events(),
                active,
                idle,
                stale,
            ],
        )
        .await
    }

    async fn extend(&self, req: &ExtendRequest) -> Result<ExtendOutcome, StoreError> {
        let k = self.keys();
        let [active, idle, stale] = Self::tier_args(req.tiers);
        self.eval_json(
            &EXTEND,
            vec![k.lock(&req.name), k.lock_index(), k.sessions_last_seen()],
            vec![
                req.name.clone(),
                req.session.clone(),
                req.ttl_ms.to_string(),
                k.prefix().to_string(),
                active,
                idle,
                stale,
            ],
        )
        .await
    }

    async fn check(
        &self,
        name: &str,
        session: &str,
        tiers: TierThresholds,
    ) -> Result<LockStatus, StoreError> {
        let k = self.keys();
        let [active, idle, stale] = Self::tier_args(tiers);
        self.eval_json(
            &CHECK,
            vec![
                k.lock(name),
                k.lock_queue(name),
                k.lock_delay(name),
                k.sessions_last_seen(),
                k.daemons(),
            ],
            vec![
                name.to_string(),
                session.to_string(),
                k.prefix().to_string(),
                active,
                idle,
                stale,
                self.daemon_id().to_string(),
            ],
        )
        .await
    }

    async fn list(&self, tiers: TierThresholds) -> Result<LockListing, StoreError> {
        let k = self.keys();
        let [active, idle, stale] = Self::tier_args(tiers);
        self.eval_json(
            &LIST,
            vec![k.lock_index(), k.lock_names(), k.sessions_last_seen()],
            vec![k.prefix().to_string(), active, idle, stale],
        )
        .await
    }

    async fn held_names(&self) -> Result<Vec<String>, StoreError> {
        let k = self.keys();
        let keys = [k.lock_index(), k.lock_names()];
        self.run(|mut conn| async move {
            HELD_NAMES
                .key(&keys[0])
                .key(&keys[1])
                .invoke_async(&mut conn)
                .await
        })
        .await
    }

    async fn held_locks(
        &self,
        names: &[String],
        tiers: TierThresholds,
    ) -> Result<LockListing, StoreError> {
        let k = self.keys();
        let [active, idle, stale] = Self::tier_args(tiers);
        let mut args = vec![k.prefix().to_string(), active, idle, stale];
        args.extend(names.iter().cloned());
        self.eval_json(&HELD, vec![k.sessions_last_seen()], args)
            .await
    }

    async fn queues(&self, names: &[String]) -> Result<Vec<LockQueue>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let k = self.keys();
        let mut args = vec![k.prefix().to_string(), self.daemon_id().to_string()];
        args.extend(names.iter().cloned());
        let found: QueueListing = self.eval_json(&QUEUES, vec![k.daemons()], args).await?;
        Ok(found.queues)
    }

    async fn leave_queue(&self, name: &str, waiter_id: &str) -> Result<(), StoreError> {
        let k = self.keys();
        let keys = vec![k.lock_queue(name), k.lock_waiter(waiter_id)];
        let args = vec![waiter_id.to_string(), name.to_string(), k.lock_events()];
        self.run(|mut conn| async move {
            let mut inv = LEAVE_QUEUE.prepare_invoke();
            for key in &keys {
                inv.key(key);
            }
            for a in &args {
                inv.arg(a);
            }
            inv.invoke_async::<i64>(&mut conn).await
        })
        .await
        .map(|_| ())
    }

    async fn force_release(&self, req: &ForceRelease) -> Result<ForceReleaseOutcome, StoreError> {
        let k = self.keys();
        let [active, idle, stale] = Self::tier_args(req.tiers);
        self.eval_json(
            &FORCE_RELEASE,
            vec![
                k.lock(&req.name),
                k.lock_index(),
                k.lock_names(),
                k.sessions_last_seen(),
                k.lock_delay(&req.name),
            ],
            vec![
                req.name.clone(),
                req.by.clone(),
                k.prefix().to_string(),
                k.lock_events(),
                active,
                idle,
                stale,
                req.lock_delay_ms.to_string(),
                NOTE_TTL_MS.to_string(),
            ],
        )
        .await
    }

    async fn release_all_held_by(
        &self,
        session: &str,
        lock_delay_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let k = self.keys();
        self.eval_json(
            &RELEASE_ALL,
            vec![k.locks_held(session), k.lock_index(), k.lock_names()],
            vec![
                session.to_string(),
                k.prefix().to_string(),
                k.lock_events(),
                lock_delay_ms.to_string(),
            ],
        )
        .await
    }

    fn lock_events(&self) -> broadcast::Receiver<String> {
        self.lock_events
            .sender
            .get_or_init(|| self.start_lock_events())
            .subscribe()
    }
}
