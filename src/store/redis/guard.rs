//! The data-loss guard: no double grant after Redis lost its memory.
//!
//! Redis without persistence (or with only periodic RDB snapshots) can come back from a
//! restart with less than it acknowledged: locks that sessions still believe they hold are
//! gone, and the next `acquire` would hand them to someone else. Redis's own advice for
//! locks on such an instance is to stay unavailable for the longest TTL after a restart.
//! We do that, but only when a loss is actually seen:
//!
//! - The marker hash `{prefix}store:epoch` is created once per generation of the data, with
//!   a random `id`. Every daemon remembers the id it saw, and `acquire.lua` checks it first:
//!   a marker that vanished or changed refuses the grant *inside the same atomic script*, so
//!   there is no window between the loss and its detection. The daemon then declares the
//!   loss (`epoch.lua`): a new marker with `hold_until = now + locks.max_timeout_seconds`
//!   (every lock granted before has expired by then), and the hold is enforced by
//!   `acquire.lua` for every daemon on this Redis.
//! - A watcher (every [`WATCH_EVERY`]) also runs the check, so the loss is logged and shown
//!   in `/health` even when nobody acquires, and notices a changed `run_id` (a restart) and
//!   whether AOF is on.
//! - An admin may end the hold early ([`RedisStore::resume_grants`], `mcp-coord
//!   resume-grants`) when every holder from before is known to be gone.
//!
//! What it cannot see: a Redis that lost its data while *no* daemon was connected looks
//! new to the first daemon that starts (there is no memory left anywhere to compare with).
//! The start-up log and `doctor` warn when AOF is off for that reason.

use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use parking_lot::Mutex;
use redis::Script;
use serde::Deserialize;

use super::RedisStore;
use crate::store::{GrantHold, StoreError};

/// How often the watcher looks at the marker, the `run_id` and AOF.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

static EPOCH: LazyLock<Script> = script!("epoch.lua");
static EPOCH_RESUME: LazyLock<Script> = script!("epoch_resume.lua");

/// What this daemon knows of the data it works on. Shared by clones of the store.
#[derive(Debug, Default)]
pub struct Guard {
    state: Mutex<Seen>,
    /// `locks.max_timeout_seconds`: the longest TTL a lock from before a loss can have.
    max_ttl_s: u64,
}

impl Guard {
    pub fn new(max_ttl_s: u64) -> Self {
        Self {
            state: Mutex::default(),
            max_ttl_s,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Seen {
    /// The marker id of the data this daemon has been granting on.
    epoch: Option<String>,
    run_id: Option<String>,
    hold: Option<GrantHold>,
    /// `aof_enabled` from `INFO persistence`, once read.
    aof: Option<bool>,
}

#[derive(Deserialize)]
struct EpochAnswer {
    id: String,
    hold_until: i64,
    hold_since: i64,
    hold_reason: String,
    created: bool,
    lost: bool,
    now_ms: i64,
}

#[derive(Deserialize)]
struct ResumeAnswer {
    running: bool,
    #[serde(default)]
    hold_until: i64,
    #[serde(default)]
    hold_since: i64,
    #[serde(default)]
    hold_reason: String,
}

impl RedisStore {
    /// The marker id this daemon knows ('' before the first check).
    pub(super) fn known_epoch(&self) -> String {
        self.guard.state.lock().epoch.clone().unwrap_or_default()
    }

    fn hold_ms(&self) -> i64 {
        (self.guard.max_ttl_s as i64).saturating_mul(1000)
    }

    /// Compares the marker with what this daemon knows (creating it for a new Redis),
    /// declares a loss if it vanished or changed, and adopts the answer. `seen` says what
    /// led here, for the reason recorded with a hold.
    pub(super) async fn check_epoch(&self, seen: &str) -> Result<(), StoreError> {
        let known = self.known_epoch();
        let hold_s = self.guard.max_ttl_s;
        let reason = format!(
            "Redis lost its data ({seen}): locks granted before may still be held by sessions \
             that do not know, so nothing is granted for locks.max_timeout_seconds ({hold_s} s), \
             the longest TTL any of them can have"
        );
        let key = self.keys().store_epoch();
        let fresh = uuid::Uuid::new_v4().simple().to_string();
        let hold_ms = self.hold_ms().to_string();
        let raw: String = self
            .run(|mut conn| async move {
                EPOCH
                    .key(key)
                    .arg(known)
                    .arg(hold_ms)
                    .arg(reason)
                    .arg(fresh)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        let a: EpochAnswer = serde_json::from_str(&raw)
            .map_err(|e| StoreError::Internal(format!("unexpected epoch answer ({e}): {raw}")))?;
        let hold = (a.hold_until > a.now_ms).then(|| GrantHold {
            until_ms: a.hold_until,
            since_ms: a.hold_since,
            reason: a.hold_reason.clone(),
        });
        let previous = {
            let mut s = self.guard.state.lock();
            let previous = s.epoch.replace(a.id.clone());
            s.hold = hold.clone();
            previous
        };
        if a.lost {
            tracing::error!(
                "data-loss guard: {}; grants resume in {} s (store clock {} ms) or when an \
                 admin runs `mcp-coord resume-grants`",
                a.hold_reason,
                (a.hold_until - a.now_ms) / 1000,
                a.hold_until
            );
        } else if previous.is_none() && a.created {
            tracing::info!(
                "data-loss guard: a new Redis data set (no marker yet); created {}",
                self.keys().store_epoch()
            );
        } else if previous.as_deref() != Some(a.id.as_str())
            && let Some(h) = &hold
        {
            tracing::warn!(
                "data-loss guard: another daemon saw this Redis lose its data; grants are held \
                 for {} s more: {}",
                (h.until_ms - a.now_ms) / 1000,
                h.reason
            );
        }
        Ok(())
    }

    /// One look by the watcher: the `run_id` (a restart), AOF, and the marker.
    async fn watch_once(&self) -> Result<(), StoreError> {
        let info: String = self
            .run(|mut conn| async move {
                redis::cmd("INFO")
                    .arg("server")
                    .arg("persistence")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        };
        let run_id = field("run_id");
        let aof = field("aof_enabled").map(|v| v == "1");
        let seen_before = self.guard.state.lock().clone();
        let restarted = match (&seen_before.run_id, &run_id) {
            (Some(old), Some(new)) if old != new => Some((old.clone(), new.clone())),
            _ => None,
        };
        let first_aof = seen_before.aof.is_none() && aof.is_some();
        {
            let mut s = self.guard.state.lock();
            if run_id.is_some() {
                s.run_id = run_id;
            }
            s.aof = aof.or(s.aof);
        }
        if first_aof && let Some(w) = self.persistence_warning_text() {
            tracing::warn!("{w}");
        }
        let seen = match &restarted {
            Some((old, new)) => {
                tracing::warn!(
                    "Redis at {} restarted (run_id {} → {})",
                    self.url_for_logs,
                    &old[..old.len().min(8)],
                    &new[..new.len().min(8)]
                );
                "it restarted and the epoch marker is gone".to_string()
            }
            None => "the epoch marker vanished or changed".to_string(),
        };
        self.check_epoch(&seen).await
    }

    /// Starts the watcher (once per store); it ends when the store is dropped.
    pub(super) fn spawn_guard_watch(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                // The first look waits too: a daemon's first acquire checks the marker
                // anyway, and start-up traffic is not competing with it.
                tokio::time::sleep(WATCH_EVERY).await;
                if let Err(e) = store.watch_once().await {
                    tracing::debug!("data-loss guard: cannot look at Redis now ({e})");
                }
                // Only this task still holds the store: it was dropped.
                if Arc::strong_count(&store.guard) == 1 {
                    return;
                }
            }
        });
    }

    pub(super) fn grant_hold_seen(&self) -> Option<GrantHold> {
        let hold = self.guard.state.lock().hold.clone()?;
        (hold.until_ms > crate::store::memory::wall_clock_ms()).then_some(hold)
    }

    pub(super) fn persistence_warning_text(&self) -> Option<String> {
        let aof = self.guard.state.lock().aof;
        (aof == Some(false)).then(|| {
            format!(
                "Redis at {} has no AOF (appendonly no): a restart loses what it acknowledged \
                 since its last RDB snapshot, and the daemon then holds lock grants back for \
                 locks.max_timeout_seconds ({} s). Turn on `appendonly yes` (appendfsync \
                 everysec or always) in redis.conf",
                self.url_for_logs, self.guard.max_ttl_s
            )
        })
    }

    /// Ends a running hold (an admin's decision). The one service-level entry point is
    /// `Coordinator::resume_grants`.
    pub(super) async fn resume_grants_now(
        &self,
        by: &str,
    ) -> Result<Option<GrantHold>, StoreError> {
        let key = self.keys().store_epoch();
        let by = by.to_string();
        let raw: String =
            self.run(|mut conn| async move {
                EPOCH_RESUME.key(key).arg(by).invoke_async(&mut conn).await
            })
            .await?;
        let a: ResumeAnswer = serde_json::from_str(&raw)
            .map_err(|e| StoreError::Internal(format!("unexpected resume answer ({e}): {raw}")))?;
        self.guard.state.lock().hold = None;
        Ok(a.running.then_some(GrantHold {
            until_ms: a.hold_until,
            since_ms: a.hold_since,
            reason: a.hold_reason,
        }))
    }
}
