//! The embedded store: the same semantics as Redis, in this process, for a zero-setup start,
//! and durable: every acknowledged change is in SQLite before the answer leaves.
//!
//! State lives behind one mutex, so every operation is atomic the way a Lua script is in
//! Redis. Each record type is a [`Table`] (one SQLite table, one row per record); a decision
//! changes tables in memory, and [`MemoryStore::apply`] hands the changed rows to the
//! [`journal`] before it lets go of the mutex, then waits (no guard held) for the commit.
//! It is local to this one process: two daemons cannot share it.
//!
//! # Adding a record type (e.g. tasks, tokens, an audit log)
//! 1. Give your capability's state struct a field `pub things: Table<Key, Thing>` where
//!    `Thing: Serialize + DeserializeOwned` is the record (its JSON is the `value` column)
//!    and `Key` is `String`, `(String, String)` or `(String, u64, u64)` (add a
//!    [`table::TableKey`] impl for another shape).
//! 2. List it in the struct's `tables()`: `TableRef::new("things", &["name"], &mut
//!    self.things)` — the SQL table name and key column names users see in `sqlite3`. If the struct is new, add its `tables()` to [`State::tables`].
//! 3. Change it only through `Table` methods inside `store.apply(|st| …)`: `insert`,
//!    `remove`, `get_mut`, `get_or_default`, `retain` record the change; reads record
//!    nothing. The table is created on first start and loaded at every start.
//! 4. Derived indexes (maps you can rebuild from tables) stay plain fields: rebuild them in
//!    the struct's `rebuild()`, called after loading.
//! 5. Add the table to the README's sqlite3 schema list.

mod audit;
mod bindings;
mod claims;
mod journal;
mod locks;
mod messages;
mod migrate;
pub mod persist;
mod sessions;
pub mod table;
mod tasks;
mod tokens;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::{Store, StoreError, StoreKind};
use crate::config::Settings;
pub use journal::{DB_FILE, SCHEMA_VERSION};
use table::RowChange;
pub use table::{Table, TableRef};

/// Everything the embedded store holds. Each capability keeps its part in its own field.
#[derive(Debug, Default)]
pub struct State {
    /// Store-wide facts: `schema_version`, `created_at_ms`, `migrated_from`,
    /// `reaper_last_run`.
    pub meta: Table<String, serde_json::Value>,
    pub locks: locks::LockState,
    pub sessions: sessions::SessionState,
    pub messages: messages::MessageState,
    pub bindings: bindings::BindingState,
    pub claims: claims::ClaimState,
    pub tokens: tokens::TokenState,
    pub audit: audit::AuditState,
    pub tasks: tasks::TaskTables,
}

impl State {
    /// Every table, for the journal.
    fn tables(&mut self) -> Vec<TableRef<'_>> {
        let mut all = vec![TableRef::new("meta", &["key"], &mut self.meta)];
        all.extend(self.locks.tables());
        all.extend(self.sessions.tables());
        all.extend(self.messages.tables());
        all.extend(self.bindings.tables());
        all.extend(self.claims.tables());
        all.extend(self.tokens.tables());
        all.extend(self.audit.tables());
        all.extend(self.tasks.tables());
        all
    }

    /// Rebuilds the derived indexes from the tables (after a load or a migration).
    fn rebuild(&mut self) {
        self.locks.rebuild();
        self.sessions.rebuild();
        self.audit.rebuild();
    }

    fn take_changes(&mut self) -> Result<Vec<RowChange>, StoreError> {
        let mut rows = Vec::new();
        for t in self.tables() {
            t.table
                .take_changes(t.name, &mut rows)
                .map_err(|e| StoreError::Internal(format!("cannot encode a record: {e}")))?;
        }
        Ok(rows)
    }
}

/// The mutex-guarded part: the state and the last journal sequence number handed out.
struct Guarded {
    state: State,
    /// Sequence number of the last decision queued to the journal.
    queued: u64,
}

/// In-process store. Cheap to clone.
#[derive(Clone)]
pub struct MemoryStore {
    guarded: Arc<Mutex<Guarded>>,
    disk: Option<Arc<Disk>>,
}

/// The data directory and its journal; absent for a purely in-memory store. The journal
/// is declared first so it is closed before the directory claim is let go.
struct Disk {
    journal: journal::Journal,
    dir: persist::DataDir,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store that lives only in memory (nothing survives the process).
    pub fn new() -> Self {
        Self {
            guarded: Arc::new(Mutex::new(Guarded {
                state: State::default(),
                queued: 0,
            })),
            disk: None,
        }
    }

    /// A store kept in `data_dir`: claims the directory (refusing if another daemon holds
    /// it), opens `state.db` and loads it, migrating an old `state.json` snapshot on the
    /// first start.
    pub async fn open(settings: &Settings, data_dir: &std::path::Path) -> Result<Self, StoreError> {
        let dir = persist::DataDir::claim(data_dir)?;
        let mut state = State::default();
        let (journal, new_file) =
            journal::Journal::open(dir.path(), settings.store.fsync, state.tables())?;
        let migrate_from = if new_file { dir.load()? } else { None };
        match &migrate_from {
            Some(bytes) => {
                state = migrate::from_snapshot(bytes).map_err(|e| {
                    StoreError::Internal(format!(
                        "the old snapshot {} cannot be migrated ({e}); it was not touched. \
                         Move it aside to start empty",
                        dir.snapshot_path().display()
                    ))
                })?;
                for t in state.tables() {
                    t.table.mark_all();
                }
            }
            None => state.rebuild(),
        }
        if new_file {
            let now = wall_clock_ms();
            state
                .meta
                .insert("schema_version".into(), SCHEMA_VERSION.into());
            state.meta.insert("created_at_ms".into(), now.into());
            if migrate_from.is_some() {
                state.meta.insert(
                    "migrated_from".into(),
                    dir.snapshot_path().display().to_string().into(),
                );
            }
        }
        let version = state
            .meta
            .get("schema_version")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::Internal(format!(
                "{} was written by a newer mcp-coord (schema {version}, this one reads up to \
                 {SCHEMA_VERSION}); upgrade, or move the file aside to start empty",
                journal.path().display()
            )));
        }
        let store = Self {
            guarded: Arc::new(Mutex::new(Guarded { state, queued: 0 })),
            disk: Some(Arc::new(Disk { journal, dir })),
        };
        // Commits the first start's meta rows (and a migration) before anything is served.
        store.apply(|_| ()).await?;
        if migrate_from.is_some() {
            let disk = store.disk.as_ref().expect("persisted");
            let kept = disk.dir.retire_snapshot()?;
            tracing::info!(
                "embedded store: migrated the old snapshot into {}; the snapshot is kept as {}",
                disk.journal.path().display(),
                kept.display()
            );
        }
        Ok(store)
    }

    /// The data directory, when persisted.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.disk.as_ref().map(|d| d.dir.path())
    }

    /// The SQLite file, when persisted.
    pub fn db_path(&self) -> Option<&std::path::Path> {
        self.disk.as_ref().map(|d| d.journal.path())
    }

    /// Runs one decision `f` under the state mutex — the embedded equivalent of one Lua
    /// script — and returns once its changes are committed to disk (in decision order).
    pub async fn apply<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, StoreError> {
        let (out, seq) = {
            let mut g = self.guarded.lock();
            if let Some(disk) = &self.disk {
                disk.journal.check()?;
            }
            let out = f(&mut g.state);
            let rows = g.state.take_changes()?;
            if let Some(disk) = &self.disk
                && !rows.is_empty()
            {
                g.queued += 1;
                disk.journal.submit(g.queued, rows)?;
            }
            (out, g.queued)
        };
        // Also for a decision that changed nothing: what it saw must be durable before it
        // is reported (it may have read an earlier decision still on its way to disk).
        if let Some(disk) = &self.disk {
            disk.journal.wait(seq).await?;
        }
        Ok(out)
    }

    /// Reads the state without changing it (subscriptions to in-process events).
    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.guarded.lock().state)
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
        let _ = self.read(|_| ());
        if let Some(disk) = &self.disk {
            disk.journal.check()?;
        }
        Ok(started.elapsed())
    }

    async fn now_ms(&self) -> Result<i64, StoreError> {
        Ok(wall_clock_ms())
    }

    fn describe(&self) -> String {
        match &self.disk {
            Some(disk) => format!(
                "embedded (in-process, local to this daemon; SQLite {}, fsync {})",
                disk.journal.path().display(),
                disk.journal.policy().as_str()
            ),
            None => "embedded (in-process, local to this daemon; not persisted)".to_string(),
        }
    }

    async fn shutdown(&self) -> Result<(), StoreError> {
        if let Some(disk) = &self.disk {
            // Nothing reaches the disk after this; then the directory is free for the next.
            disk.journal.close();
            disk.dir.release();
        }
        Ok(())
    }
}
