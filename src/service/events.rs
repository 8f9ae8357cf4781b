//! What happened, for whoever listens: an in-process broadcast of small events.
//!
//! Sessions publish tier changes, registrations, status reports and ends here; later
//! capabilities (inbox delivery to a parent, MCP resource notifications, `/events`) subscribe.
//! A slow subscriber misses old events (broadcast semantics) but never slows a publisher.
//!
//! Daemons sharing a Redis hear each other's events: [`Events::publish`] delivers locally at
//! once and queues the event, tagged with this daemon's id, for the `{prefix}events` channel;
//! the relay ([`spawn_relay`]) re-publishes events from that channel into the local broadcast,
//! skipping those tagged with our own id, so every event reaches a subscriber exactly once.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::domain::session::{Role, SessionRecord, StatusReport};
use crate::domain::tiers::Tier;

/// Events a subscriber can lag behind by before it starts missing them.
const CAPACITY: usize = 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A session was registered (explicitly, implicitly by its first tool call, revived, or
    /// linked to a parent), with what it said about itself (so a page can show it at once).
    SessionRegistered {
        session: String,
        parent: Option<String>,
        implicit: bool,
        at_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// A live session was active again (a tool call); published at most once per
    /// [`SEEN_EVERY_MS`] of the store clock per session, so "last active" stays close.
    SessionSeen { session: String, at_ms: i64 },
    /// A live session moved to another tier (`from` is `None` when unknown).
    TierChanged {
        session: String,
        from: Option<Tier>,
        to: Tier,
        at_ms: i64,
    },
    /// A session reported its status; its parent (if any) is the audience.
    StatusReported {
        session: String,
        parent: Option<String>,
        report: StatusReport,
    },
    /// A session ended (by itself, by renaming, or by the reaper).
    SessionEnded {
        session: String,
        parent: Option<String>,
        reason: String,
        at_ms: i64,
    },
    /// A lock was granted (a re-entrant acquire is a `lock_extended`).
    LockGranted {
        lock: String,
        holder: String,
        token: u64,
        at_ms: i64,
        /// Store clock (ms) at which the lock expires unless extended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A lock was taken from a stale or dead holder.
    LockTakenOver {
        lock: String,
        holder: String,
        from: String,
        token: u64,
        at_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Until then only `holder` may take the lock again (lock-delay after a takeover).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lock_delay_until: Option<i64>,
    },
    /// A held lock got a new expiry (`extend_lock`, or its holder acquired it again).
    LockExtended {
        lock: String,
        holder: String,
        token: u64,
        expires_at: i64,
        at_ms: i64,
    },
    /// A session joined a lock's queue (it waits for it; `position` is 1-based).
    LockQueued {
        lock: String,
        session: String,
        position: u32,
        at_ms: i64,
    },
    /// A session left a lock's queue: `granted`, `timed_out` or `cancelled`.
    LockQueueLeft {
        lock: String,
        session: String,
        outcome: QueueExit,
        at_ms: i64,
    },
    /// A lock was released by its holder, or because its holder ended.
    LockReleased {
        lock: String,
        holder: String,
        at_ms: i64,
        /// Nobody is granted the lock before this (store ms): an admin force-released it or
        /// ended its holder (lock-delay).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lock_delay_until: Option<i64>,
        /// The admin who force-released it (`admin <session> (token tok_…)`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forced_by: Option<String>,
    },
    /// A `create_tasks` batch was created (one event per batch, however many tasks).
    TaskCreated {
        project: String,
        batch: String,
        /// The new task ids, in batch order.
        ids: Vec<String>,
        /// Of them, the ones ready now.
        #[serde(default)]
        ready: Vec<String>,
        by: String,
        at_ms: i64,
    },
    /// A task was claimed (`next_task`, or assigned by `create_session(task=…)`).
    TaskClaimed {
        project: String,
        task: String,
        title: String,
        assignee: String,
        /// Locks taken together with the claim.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        locks: Vec<String>,
        at_ms: i64,
    },
    /// A task's (or subtask's, `task` = "3.2") status, progress or notes changed.
    TaskUpdated {
        project: String,
        task: String,
        status: crate::domain::tasks::TaskStatus,
        previous: crate::domain::tasks::TaskStatus,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// Tasks this change made ready (a `done`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unblocked: Vec<String>,
        at_ms: i64,
    },
    /// A task went back to pending because its assignee ended or was abandoned.
    TaskReleased {
        project: String,
        task: String,
        /// The assignee that dropped it.
        from: String,
        reason: String,
        at_ms: i64,
    },
    /// A message was added to `to`'s inbox.
    MessageSent {
        from: String,
        to: String,
        kind: crate::domain::message::MessageKind,
        message_id: String,
        at_ms: i64,
    },
}

/// Why a waiter left a lock's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueExit {
    Granted,
    TimedOut,
    Cancelled,
}

/// `session_seen` is published when a heartbeat moves the store clock into a new window of
/// this many milliseconds: often enough for a page's "last active", rare enough (≤ one event
/// per session per window) for 200 busy sessions.
pub const SEEN_EVERY_MS: i64 = 5000;

impl Event {
    /// `session_registered` for `record` as just written.
    pub fn registered(record: &SessionRecord, implicit: bool, at_ms: i64) -> Event {
        Event::SessionRegistered {
            session: record.name.clone(),
            parent: record.parent.clone(),
            implicit,
            at_ms,
            role: Some(record.role),
            project: record.project.clone(),
            task: record.task.clone(),
            branch: record.branch.clone(),
            cwd: record.cwd.clone(),
        }
    }

    /// The `event` tag (`session_registered`, `message_sent`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SessionRegistered { .. } => "session_registered",
            Event::SessionSeen { .. } => "session_seen",
            Event::LockExtended { .. } => "lock_extended",
            Event::LockQueued { .. } => "lock_queued",
            Event::LockQueueLeft { .. } => "lock_queue_left",
            Event::TierChanged { .. } => "tier_changed",
            Event::StatusReported { .. } => "status_reported",
            Event::SessionEnded { .. } => "session_ended",
            Event::LockGranted { .. } => "lock_granted",
            Event::LockTakenOver { .. } => "lock_taken_over",
            Event::LockReleased { .. } => "lock_released",
            Event::MessageSent { .. } => "message_sent",
            Event::TaskCreated { .. } => "task_created",
            Event::TaskClaimed { .. } => "task_claimed",
            Event::TaskUpdated { .. } => "task_updated",
            Event::TaskReleased { .. } => "task_released",
        }
    }
}

/// What travels over the `{prefix}events` channel.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: Event,
}

/// The daemon's event channel. Cloning gives another handle on the same channel (for code
/// that publishes from a `Drop`, such as a lock waiter leaving its queue).
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    /// This daemon's id, tagged on the events it sends to the others.
    origin: Arc<str>,
    /// Set once the relay runs: events to send to the other daemons.
    outbound: Arc<OnceLock<mpsc::UnboundedSender<String>>>,
    /// Every event published here is also an audit entry (see `service/audit`).
    audit: super::audit::AuditSink,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
            outbound: Arc::new(OnceLock::new()),
            audit: super::audit::AuditSink::default(),
        }
    }
}

impl Events {
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// The audit log's sink (shared by every clone of this handle).
    pub fn audit(&self) -> &super::audit::AuditSink {
        &self.audit
    }

    /// Sends to every current subscriber here, and (with a shared store) to the other
    /// daemons; without subscribers the event is dropped. Records it in the audit log (the
    /// one place every state change passes; events relayed from other daemons are audited
    /// there, not here).
    pub fn publish(&self, event: Event) {
        self.audit.event(&event);
        if let Some(out) = self.outbound.get()
            && let Ok(json) = serde_json::to_string(&Envelope {
                origin: self.origin.to_string(),
                event: event.clone(),
            })
        {
            let _ = out.send(json);
        }
        let _ = self.tx.send(event);
    }

    /// An event another daemon published.
    fn deliver_remote(&self, payload: &str) {
        match serde_json::from_str::<Envelope>(payload) {
            Ok(env) if *env.origin != *self.origin => {
                let _ = self.tx.send(env.event);
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("ignoring an event from another daemon ({e})"),
        }
    }
}

/// Events sent to the other daemons in one round trip at most.
const RELAY_BATCH: usize = 128;

/// Connects this daemon's events with the other daemons on the same store: one task sends
/// ours to the store's event channel, one re-publishes theirs here. Without a shared store
/// (embedded) there is nothing to do. Both stop with `shutdown`.
pub fn spawn_relay(coord: &Arc<super::Coordinator>, shutdown: CancellationToken) {
    let Some(mut feed) = coord.store().event_feed() else {
        return;
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    if coord.events().outbound.set(out_tx).is_err() {
        return; // already relaying
    }
    let store = coord.store().clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                p = out_rx.recv() => match p { Some(p) => p, None => return },
            };
            // What queued up meanwhile goes in the same round trip: under load one PUBLISH
            // per event was a write, a read and a wake-up of this task per tool call.
            let mut batch = vec![first];
            while batch.len() < RELAY_BATCH
                && let Ok(p) = out_rx.try_recv()
            {
                batch.push(p);
            }
            if let Err(e) = store.publish_events(batch).await {
                tracing::debug!("events did not reach the other daemons: {e}");
            }
        }
    });
    let weak = Arc::downgrade(coord);
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = feed.recv() => r,
            };
            let Some(coord) = weak.upgrade() else { return };
            match received {
                Ok(payload) => coord.events().deliver_remote(&payload),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("missed {n} events from other daemons (too many at once)");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
