//! The embedded store's disk: one SQLite file in WAL mode, written by one thread, in the
//! order the decisions were made, before their answers leave.
//!
//! Why this shape: the in-memory model keeps deciding everything atomically under its one
//! mutex (the conformance behaviour is the same as before), and each decision's changed
//! rows ([`RowChange`]) are handed to this journal *while the mutex is still held*, so the
//! queue order is the decision order. The caller then waits — with no guard held — until
//! the writer thread has committed its batch. The writer commits whatever has queued up in
//! one transaction (group commit), so under contention many decisions share one commit and
//! one fsync.
//!
//! Durability by [`FsyncPolicy`]: a committed WAL transaction is in the OS page cache, so
//! it survives the daemon being killed (`kill -9`, OOM, panic) under every policy. What a
//! power loss may take depends on the policy: `always` (`synchronous=FULL`, the WAL is
//! fsynced at each commit) nothing; `everysec` (`synchronous=NORMAL` plus a checkpoint,
//! which fsyncs the WAL, within a second of a write) about the last second; `no`
//! (`synchronous=NORMAL`) whatever the OS had not written back. WAL with NORMAL is never
//! corrupted by a power loss, it only loses the newest commits.
//!
//! A failed commit (disk full, I/O error) is not retried behind the callers' backs: the
//! journal fails, every later call of the store fails with the reason, and a restart
//! reloads the file — the truth — rather than serving memory the disk never saw.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::watch;

use super::table::{RowChange, TableRef};
use crate::config::FsyncPolicy;
use crate::store::StoreError;

/// The file inside the data directory (`sqlite3 <data dir>/state.db` to look inside).
pub const DB_FILE: &str = "state.db";

/// Bumped when a table changes shape incompatibly; a newer file is refused.
pub const SCHEMA_VERSION: i64 = 1;

/// Tables earlier files may have that hold nothing worth keeping, dropped at open: the lock
/// queues and their waiters live in the daemon's memory only (a waiter is a request being
/// served; after a restart its entry would only block the queue until it expired).
const RETIRED_TABLES: &[&str] = &["lock_queues", "lock_waiters"];

/// At most this many queued decisions go into one transaction.
const MAX_GROUP: usize = 512;

/// How long a commit waits for somebody else's write transaction (a user's `sqlite3`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// With `everysec`, written data is fsynced within this long.
const EVERYSEC: Duration = Duration::from_secs(1);

struct Batch {
    seq: u64,
    rows: Vec<RowChange>,
}

#[derive(Clone, Default)]
struct Progress {
    /// Every batch up to this sequence number is committed.
    committed: u64,
    /// Set once, when a commit failed; the journal accepts nothing after.
    failed: Option<String>,
}

/// The writer thread and the way to reach it.
pub struct Journal {
    path: PathBuf,
    policy: FsyncPolicy,
    tx: Mutex<Option<mpsc::Sender<Batch>>>,
    progress: watch::Receiver<Progress>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Journal {
    /// Opens (or creates) the file, creates the registered tables, loads every row into
    /// them, and starts the writer. Returns whether the file was new (no `meta` rows).
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
        tables: Vec<TableRef<'_>>,
    ) -> Result<(Self, bool), StoreError> {
        let path = dir.join(DB_FILE);
        let fail = |what: &str, e: rusqlite::Error| {
            StoreError::Internal(format!(
                "the embedded store cannot {what} {}: {e}; check the file and its directory \
                 are writable, or move the file aside to start empty",
                path.display()
            ))
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail("open", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| fail("switch to WAL mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Internal(format!(
                "the embedded store needs WAL mode for {} but SQLite chose {mode:?} (a \
                 filesystem without shared memory?); put the data directory on a local disk",
                path.display()
            )));
        }
        let synchronous = match policy {
            FsyncPolicy::Always => "FULL",
            FsyncPolicy::Everysec | FsyncPolicy::No => "NORMAL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous={synchronous};"))
            .map_err(|e| fail("set up", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| fail("set up", e))?;
        for t in RETIRED_TABLES {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {t};"))
                .map_err(|e| fail("drop a retired table in", e))?;
        }
        conn.set_prepared_statement_cache_capacity(64);

        let mut statements = HashMap::new();
        let mut new_file = true;
        for t in tables {
            assert_eq!(
                t.key_columns.len(),
                t.table.key_arity(),
                "table {}: key columns and key type disagree",
                t.name
            );
            let keys = t.key_columns.join(", ");
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} ({keys}, value TEXT NOT NULL, \
                 PRIMARY KEY ({keys})) WITHOUT ROWID;",
                t.name
            ))
            .map_err(|e| fail("create tables in", e))?;
            let mut select = conn
                .prepare(&format!("SELECT {keys}, value FROM {}", t.name))
                .map_err(|e| fail("read", e))?;
            let arity = t.key_columns.len();
            let mut rows = select.query([]).map_err(|e| fail("read", e))?;
            while let Some(row) = rows.next().map_err(|e| fail("read", e))? {
                let key: Vec<SqlValue> = (0..arity)
                    .map(|i| row.get(i))
                    .collect::<Result<_, _>>()
                    .map_err(|e| fail("read", e))?;
                let value: String = row.get(arity).map_err(|e| fail("read", e))?;
                t.table.load_row(&key, &value).map_err(|e| {
                    StoreError::Internal(format!(
                        "a row of table {} in {} cannot be read ({e}); it was not touched: \
                         fix or delete the row with sqlite3, or move the file aside",
                        t.name,
                        path.display()
                    ))
                })?;
                if t.name == "meta" {
                    new_file = false;
                }
            }
            let marks = vec!["?"; arity + 1].join(", ");
            let matches = t
                .key_columns
                .iter()
                .map(|c| format!("{c} = ?"))
                .collect::<Vec<_>>()
                .join(" AND ");
            statements.insert(
                t.name,
                (
                    format!(
                        "INSERT OR REPLACE INTO {} ({keys}, value) VALUES ({marks})",
                        t.name
                    ),
                    format!("DELETE FROM {} WHERE {matches}", t.name),
                ),
            );
        }

        let (tx, rx) = mpsc::channel();
        let (progress_tx, progress) = watch::channel(Progress::default());
        let writer = Writer {
            conn,
            statements,
            policy,
            progress: progress_tx,
            path: path.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("mcp-coord-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Internal(format!("cannot start the journal thread: {e}")))?;
        Ok((
            Self {
                path,
                policy,
                tx: Mutex::new(Some(tx)),
                progress,
                thread: Mutex::new(Some(thread)),
            },
            new_file,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn policy(&self) -> FsyncPolicy {
        self.policy
    }

    /// Fails when an earlier commit failed (nothing is decided on top of lost writes).
    pub fn check(&self) -> Result<(), StoreError> {
        match &self.progress.borrow().failed {
            Some(why) => Err(failed(why)),
            None => Ok(()),
        }
    }

    /// Queues one decision's rows. Call with the state mutex held, so the queue order is
    /// the decision order.
    pub fn submit(&self, seq: u64, rows: Vec<RowChange>) -> Result<(), StoreError> {
        let sender = self.tx.lock().clone();
        let sent = sender.is_some_and(|tx| tx.send(Batch { seq, rows }).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.check().err().unwrap_or_else(|| {
                StoreError::Internal("the embedded store is shut down".to_string())
            }))
        }
    }

    /// Waits until every batch up to `seq` is committed.
    pub async fn wait(&self, seq: u64) -> Result<(), StoreError> {
        let mut progress = self.progress.clone();
        let seen = progress
            .wait_for(|p| p.committed >= seq || p.failed.is_some())
            .await
            .map_err(|_| StoreError::Internal("the embedded store's journal stopped".into()))?;
        match &seen.failed {
            Some(why) if seen.committed < seq => Err(failed(why)),
            _ => Ok(()),
        }
    }

    /// Stops the writer after it committed everything queued (and, with `everysec`, synced).
    pub fn close(&self) {
        drop(self.tx.lock().take());
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

fn failed(why: &str) -> StoreError {
    StoreError::Internal(format!(
        "the embedded store could not write to disk ({why}); it stopped taking changes so \
         that nothing is acknowledged that the disk does not hold. Fix the cause (disk \
         full? permissions?) and restart the daemon: it reloads what was committed"
    ))
}

struct Writer {
    conn: Connection,
    /// Table name → (upsert, delete) SQL.
    statements: HashMap<&'static str, (String, String)>,
    policy: FsyncPolicy,
    progress: watch::Sender<Progress>,
    path: PathBuf,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Batch>) {
        let mut unsynced_since: Option<Instant> = None;
        loop {
            let first = match unsynced_since {
                Some(since) => match rx.recv_timeout(EVERYSEC.saturating_sub(since.elapsed())) {
                    Ok(b) => Some(b),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(b) => Some(b),
                    Err(_) => break,
                },
            };
            if let Some(first) = first {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(b) => group.push(b),
                        Err(_) => break,
                    }
                }
                let last = group.last().map_or(0, |b| b.seq);
                if let Err(e) = self.commit(&group) {
                    let why = format!("{}: {e}", self.path.display());
                    tracing::error!("embedded store: a commit failed, refusing changes: {why}");
                    self.progress.send_modify(|p| p.failed = Some(why));
                    return;
                }
                self.progress.send_modify(|p| p.committed = last);
                if self.policy == FsyncPolicy::Everysec && unsynced_since.is_none() {
                    unsynced_since = Some(Instant::now());
                }
            }
            if unsynced_since.is_some_and(|s| s.elapsed() >= EVERYSEC) {
                self.sync();
                unsynced_since = None;
            }
        }
        if unsynced_since.is_some() {
            self.sync();
        }
    }

    fn commit(&mut self, group: &[Batch]) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for row in group.iter().flat_map(|b| &b.rows) {
            let (upsert, delete) = &self.statements[row.table];
            match &row.value {
                Some(v) => {
                    let params = row
                        .key
                        .iter()
                        .cloned()
                        .chain(std::iter::once(SqlValue::Text(v.clone())));
                    tx.prepare_cached(upsert)?
                        .execute(rusqlite::params_from_iter(params))?;
                }
                None => {
                    tx.prepare_cached(delete)?
                        .execute(rusqlite::params_from_iter(row.key.iter()))?;
                }
            }
        }
        tx.commit()
    }

    /// A passive checkpoint: SQLite fsyncs the WAL before copying it into the database
    /// (`synchronous=NORMAL`), which is what makes `everysec` durable.
    fn sync(&self) {
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            tracing::warn!(
                "embedded store: checkpoint of {} failed: {e}",
                self.path.display()
            );
        }
    }
}
