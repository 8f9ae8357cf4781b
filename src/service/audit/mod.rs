//! The audit log: who changed what, when, with what outcome — and who was refused.
//!
//! Entries are written in one place for state changes: [`Events::publish`] hands every
//! event it publishes (not those relayed from other daemons, which audit their own) to the
//! [`AuditSink`], which maps it to an [`AuditRecord`] (`from_event.rs`). Refusals and
//! actions that publish no event (spawning, killing, typing into a pane) are recorded where
//! they are decided, with [`Coordinator::audited`] or [`AuditSink::record`].
//!
//! "Who" comes from the connection: the MCP door (`mcp/handler.rs`) and the hook handler
//! run each call inside [`acting_as`], a task-local holding the caller; an entry recorded
//! outside any call (the reaper, an expiry) has no `by`: the daemon did it.
//!
//! Recording never waits for the store: entries go through a bounded channel to one writer
//! task (`writer.rs`) that appends them in batches, trims the log (`[audit]` bounds) and
//! optionally appends JSON lines to a file. A query first lets the writer catch up, so an
//! answer includes everything recorded before it was asked.
//!
//! Entries are metadata only — names, kinds, outcomes, error codes; never a message body,
//! a status summary, a lock reason or a credential.
//!
//! [`Events::publish`]: super::Events::publish

mod from_event;
mod query;
pub mod types;
pub mod writer;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::service::{Caller, Coordinator, ServiceError};
pub use crate::store::audit::{AuditActor, AuditRecord};

/// Entries that may wait for the writer before new ones are dropped (and counted).
const QUEUE: usize = 8192;

/// Outcome words.
pub const OK: &str = "ok";
pub const REFUSED: &str = "refused";
pub const ERROR: &str = "error";

tokio::task_local! {
    static ACTOR: AuditActor;
}

/// Runs `f` with `by` as the "by" of every audit entry recorded inside it.
pub async fn acting_as<F: Future>(by: AuditActor, f: F) -> F::Output {
    ACTOR.scope(by, f).await
}

/// The audit view of a caller (and its peer address, when known).
pub fn actor(caller: &Caller, peer: Option<String>) -> AuditActor {
    AuditActor {
        session: caller.session.clone(),
        connection: caller.connection_id.clone(),
        transport: caller.transport.to_string(),
        peer,
        token: caller.principal.token_id.clone(),
    }
}

/// The caller of the call this task is serving, if any.
pub(crate) fn current_actor() -> Option<AuditActor> {
    ACTOR.try_with(Clone::clone).ok()
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What travels to the writer.
pub(crate) enum Cmd {
    Entry(Box<AuditRecord>),
    /// Answered once every entry queued before it is in the store.
    Flush(oneshot::Sender<()>),
}

/// Where entries are recorded. Cheap to clone (one per [`super::Events`] handle).
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Cmd>,
    /// The receiving end, until the writer task takes it.
    rx: Arc<Mutex<Option<mpsc::Receiver<Cmd>>>>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Default for AuditSink {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl AuditSink {
    /// Records `entry`: `at_ms` 0 becomes now, a missing `by` becomes the current caller.
    /// Never waits; when the writer is this far behind, the entry is dropped and counted.
    pub fn record(&self, mut entry: AuditRecord) {
        if entry.at_ms == 0 {
            entry.at_ms = wall_clock_ms();
        }
        if entry.by.is_none() {
            entry.by = current_actor();
        }
        if self.tx.try_send(Cmd::Entry(Box::new(entry))).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    "audit log: {} entries dropped so far (writer behind)",
                    n + 1
                );
            }
        }
    }

    /// The entry for a published event, if its kind is audited.
    pub fn event(&self, event: &super::Event) {
        if let Some(entry) = from_event::record(event) {
            self.record(entry);
        }
    }

    /// Entries dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (at most `within`) until everything recorded so far is in the store. False when
    /// the writer did not answer in time (or is not running).
    pub async fn flush(&self, within: std::time::Duration) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Cmd::Flush(done)).await.is_err() {
            return false;
        }
        matches!(tokio::time::timeout(within, wait).await, Ok(Ok(())))
    }

    /// The receiving end, once (for the writer task).
    pub(crate) fn take_receiver(&self) -> Option<mpsc::Receiver<Cmd>> {
        self.rx.lock().take()
    }
}

impl AuditRecord {
    /// An entry of `kind` with `outcome`; fill in the rest with the builder methods.
    pub fn of(kind: &str, outcome: &str) -> Self {
        Self {
            at_ms: 0,
            kind: kind.to_string(),
            outcome: outcome.to_string(),
            session: None,
            by: None,
            lock: None,
            target: None,
            detail: None,
        }
    }

    /// An entry of `kind` for `result`: `ok`, `error` (the store or the daemon failed) or
    /// `refused`, with the error code as detail.
    pub fn outcome_of<T>(kind: &str, result: &Result<T, ServiceError>) -> Self {
        match result {
            Ok(_) => Self::of(kind, OK),
            Err(e) if e.code == "internal" || e.code == "store_unavailable" => {
                Self::of(kind, ERROR).detail(e.code)
            }
            Err(e) => Self::of(kind, REFUSED).detail(e.code),
        }
    }

    pub fn session(mut self, s: impl Into<String>) -> Self {
        self.session = Some(s.into());
        self
    }

    pub fn lock(mut self, l: impl Into<String>) -> Self {
        self.lock = Some(l.into());
        self
    }

    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        let d: String = d.into();
        // A detail is a word or two; never let a caller-supplied sentence grow the log.
        self.detail = Some(d.chars().take(120).collect());
        self
    }

    pub fn at(mut self, at_ms: i64) -> Self {
        self.at_ms = at_ms;
        self
    }
}

impl Coordinator {
    /// Where this daemon's audit entries go.
    pub fn audit(&self) -> &AuditSink {
        self.events().audit()
    }

    /// Records the outcome of `result` as a `kind` entry about `session` (and `target`):
    /// `ok`, or `refused` with the error code as detail. Returns `result` unchanged.
    pub fn audited<T>(
        &self,
        kind: &str,
        session: &str,
        target: Option<&str>,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut entry = AuditRecord::outcome_of(kind, &result).session(session);
        if let Some(t) = target {
            entry = entry.target(t);
        }
        self.audit().record(entry);
        result
    }
}
