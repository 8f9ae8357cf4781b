//! The embedded store: the same semantics as Redis, in this process, for a zero-setup start.
//!
//! State lives behind one mutex, so every operation is atomic the way a Lua script is in
//! Redis. It is local to this one process: two daemons cannot share it.

mod locks;
mod messages;
pub mod persist;
mod sessions;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::{Store, StoreError, StoreKind};
use crate::config::Settings;

/// Everything the embedded store holds. Each capability keeps its part in its own field.
/// The whole of it is what a snapshot saves.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct State {
    pub locks: locks::LockState,
    pub sessions: sessions::SessionState,
    pub messages: messages::MessageState,
}

/// In-process store. Cheap to clone.
#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    settings: Arc<Settings>,
    persistence: Option<Arc<Persistence>>,
}

/// Where and how the state is saved; absent for a purely in-memory store.
struct Persistence {
    dir: persist::DataDir,
    /// The bytes of the last snapshot written, so an unchanged state is not rewritten.
    last_saved: Mutex<Vec<u8>>,
}

/// The snapshot file's shape; `version` lets a later release read older files.
#[derive(serde::Serialize, serde::Deserialize)]
struct Snapshot<S> {
    version: u32,
    saved_at_ms: i64,
    /// Written only by the final snapshot of an orderly shutdown: the state (fencing counters
    /// included) is then exact. Any other snapshot may be older than the last grants.
    #[serde(default)]
    clean: bool,
    state: S,
}

const SNAPSHOT_VERSION: u32 = 1;

impl MemoryStore {
    /// A store that lives only in memory (nothing survives the process).
    pub fn new(settings: &Settings) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            settings: Arc::new(settings.clone()),
            persistence: None,
        }
    }

    /// A store persisted in `data_dir`: claims the directory (refusing if another daemon
    /// holds it), loads the last snapshot, and snapshots every
    /// `store.snapshot_interval_seconds` from then on.
    pub fn open(settings: &Settings, data_dir: &std::path::Path) -> Result<Self, StoreError> {
        let dir = persist::DataDir::claim(data_dir)?;
        let state = match dir.load()? {
            None => State::default(),
            Some(bytes) => {
                let snapshot: Snapshot<State> = serde_json::from_slice(&bytes).map_err(|e| {
                    StoreError::Internal(format!(
                        "the snapshot {} cannot be read ({e}); it was not touched. Move it aside \
                         to start empty, or fix it",
                        dir.snapshot_path().display()
                    ))
                })?;
                if snapshot.version > SNAPSHOT_VERSION {
                    return Err(StoreError::Internal(format!(
                        "the snapshot {} was written by a newer mcp-coord (format {}); upgrade, \
                         or move it aside to start empty",
                        dir.snapshot_path().display(),
                        snapshot.version
                    )));
                }
                let mut state = snapshot.state;
                if !snapshot.clean {
                    // The last run did not stop in order: tokens granted after its last
                    // snapshot are unknown, so start this run's tokens above all of them.
                    state.locks.fence_epoch += 1;
                    tracing::warn!(
                        "the embedded store's last run did not shut down cleanly; state is from \
                         its last snapshot, and fencing tokens continue above {}",
                        state.locks.fence_epoch << 32
                    );
                }
                state
            }
        };
        let store = Self {
            state: Arc::new(Mutex::new(state)),
            settings: Arc::new(settings.clone()),
            persistence: Some(Arc::new(Persistence {
                dir,
                last_saved: Mutex::new(Vec::new()),
            })),
        };
        // Durably mark this run as started (not clean) before anything is granted.
        store.write_snapshot(false)?;
        store.spawn_snapshots();
        Ok(store)
    }

    /// The data directory, when persisted.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.persistence.as_ref().map(|p| p.dir.path())
    }

    /// Writes a snapshot now if the state changed since the last one.
    pub fn snapshot(&self) -> Result<(), StoreError> {
        self.write_snapshot(false)
    }

    /// Writes the snapshot (`clean` only for the last one of an orderly shutdown), skipping
    /// the write when nothing changed since the previous one.
    // `last_saved` is held through the file write on purpose: it orders concurrent snapshot
    // writers (the timer and shutdown), so an older state never overwrites a newer file. It
    // is a sync function; nothing under the guard awaits or takes `state`.
    #[allow(clippy::significant_drop_tightening)]
    fn write_snapshot(&self, clean: bool) -> Result<(), StoreError> {
        let Some(p) = &self.persistence else {
            return Ok(());
        };
        let bytes = {
            let state = self.state.lock();
            serde_json::to_vec(&Snapshot {
                version: SNAPSHOT_VERSION,
                saved_at_ms: 0,
                clean,
                state: &*state,
            })?
        };
        let mut last = p.last_saved.lock();
        if *last == bytes {
            return Ok(());
        }
        // Stamp the time outside the comparison, so an unchanged state is not rewritten.
        let mut stamped: Snapshot<serde_json::Value> = serde_json::from_slice(&bytes)?;
        stamped.saved_at_ms = wall_clock_ms();
        p.dir.save(&serde_json::to_vec(&stamped)?)?;
        *last = bytes;
        Ok(())
    }

    fn spawn_snapshots(&self) {
        let every = Duration::from_secs(self.settings.store.snapshot_interval_seconds);
        let store = self.clone_weak();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(store) = store.upgrade() else { return };
                if let Err(e) = store.snapshot() {
                    tracing::error!("{e}");
                }
            }
        });
    }

    fn clone_weak(&self) -> WeakMemoryStore {
        WeakMemoryStore {
            state: Arc::downgrade(&self.state),
            settings: self.settings.clone(),
            persistence: self.persistence.as_ref().map(Arc::downgrade),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `f` under the state lock: the embedded equivalent of one Lua script.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock())
    }
}

/// A handle that does not keep the store alive (the snapshot task holds one).
struct WeakMemoryStore {
    state: std::sync::Weak<Mutex<State>>,
    settings: Arc<Settings>,
    persistence: Option<std::sync::Weak<Persistence>>,
}

impl WeakMemoryStore {
    fn upgrade(&self) -> Option<MemoryStore> {
        Some(MemoryStore {
            state: self.state.upgrade()?,
            settings: self.settings.clone(),
            persistence: match &self.persistence {
                Some(w) => Some(w.upgrade()?),
                None => None,
            },
        })
    }
}

/// Wall-clock milliseconds since the epoch: the embedded store's one clock.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl Store for MemoryStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Embedded
    }

    async fn ping(&self) -> Result<Duration, StoreError> {
        let started = std::time::Instant::now();
        drop(self.state.lock());
        Ok(started.elapsed())
    }

    async fn now_ms(&self) -> Result<i64, StoreError> {
        Ok(wall_clock_ms())
    }

    fn describe(&self) -> String {
        match self.data_dir() {
            Some(dir) => format!(
                "embedded (in-process, local to this daemon; snapshot in {})",
                dir.display()
            ),
            None => "embedded (in-process, local to this daemon; not persisted)".to_string(),
        }
    }

    async fn shutdown(&self) -> Result<(), StoreError> {
        self.write_snapshot(true)
    }
}
