//! The embedded store: the same semantics as Redis, in this process, for a zero-setup start.
//!
//! State lives behind one mutex, so every operation is atomic the way a Lua script is in
//! Redis. It is local to this one process: two daemons cannot share it.

mod locks;
mod messages;
mod sessions;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::{Store, StoreError, StoreKind};
use crate::config::Settings;

/// Everything the embedded store holds. Each capability keeps its part in its own field.
#[derive(Debug, Default)]
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
}

impl MemoryStore {
    pub fn new(settings: &Settings) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            settings: Arc::new(settings.clone()),
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
        "embedded (in-process, local to this daemon)".to_string()
    }
}
