//! What happened, for whoever listens: an in-process broadcast of small events.
//!
//! Sessions publish tier changes, registrations, status reports and ends here; later
//! capabilities (inbox delivery to a parent, MCP resource notifications, `/events`) subscribe.
//! A slow subscriber misses old events (broadcast semantics) but never slows a publisher.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::session::StatusReport;
use crate::domain::tiers::Tier;

/// Events a subscriber can lag behind by before it starts missing them.
const CAPACITY: usize = 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A session was registered (explicitly, implicitly by its first tool call, or revived).
    SessionRegistered {
        session: String,
        parent: Option<String>,
        implicit: bool,
        at_ms: i64,
    },
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
}

/// The daemon's event channel.
#[derive(Debug)]
pub struct Events {
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Events {
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Sends to every current subscriber; without subscribers the event is dropped.
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }
}
