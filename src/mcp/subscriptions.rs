//! Resource subscriptions of every connection of this daemon, and the task that turns
//! events into `notifications/resources/updated`.
//!
//! One [`Hub`] per daemon, shared by both transports. `resources/subscribe` stores the
//! connection's `Peer` with the URI; each event (local, or relayed from another daemon
//! through Redis) maps to the URIs it changes, and every matching subscriber is notified
//! at once (one task drives all the sends, each bounded, so a slow client delays nobody).
//! Subscriptions of closed connections are dropped when next met.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use parking_lot::Mutex;
use rmcp::RoleServer;
use rmcp::service::Peer;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::identity::ConnectionIdentity;
use super::resources::{INBOX, LOCKS, SESSIONS, TASKS, session_uri};
use crate::service::{Coordinator, Event};

/// A notification not written within this is dropped (the client is not reading).
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(2);

struct Subscription {
    uri: String,
    identity: Arc<ConnectionIdentity>,
    peer: Peer<RoleServer>,
}

/// The daemon's subscription registry.
#[derive(Default)]
pub struct Hub {
    subs: Mutex<Vec<Subscription>>,
}

/// Which resources an event changes.
enum Changed {
    Uri(String),
    /// `coord://inbox` of this session.
    Inbox(String),
}

fn changed_by(event: &Event) -> Vec<Changed> {
    let session = |s: &str| {
        vec![
            Changed::Uri(SESSIONS.to_string()),
            Changed::Uri(session_uri(s)),
        ]
    };
    match event {
        Event::SessionRegistered { session: s, .. }
        | Event::TierChanged { session: s, .. }
        | Event::StatusReported { session: s, .. }
        | Event::SessionEnded { session: s, .. } => session(s),
        Event::LockGranted { .. }
        | Event::LockTakenOver { .. }
        | Event::LockReleased { .. }
        | Event::LockExtended { .. } => vec![Changed::Uri(LOCKS.to_string())],
        // Heartbeats and queue moves change no resource's contents (coord://locks lists
        // holders, not waiters; a session's resource does not follow every tool call).
        Event::SessionSeen { .. } | Event::LockQueued { .. } | Event::LockQueueLeft { .. } => {
            vec![]
        }
        Event::MessageSent { to, .. } => vec![Changed::Inbox(to.clone())],
        Event::TaskCreated { .. }
        | Event::TaskClaimed { .. }
        | Event::TaskUpdated { .. }
        | Event::TaskReleased { .. } => vec![Changed::Uri(TASKS.to_string())],
    }
}

impl Hub {
    /// A hub fed by `coord`'s events until `shutdown`.
    pub fn start(coord: &Arc<Coordinator>, shutdown: CancellationToken) -> Arc<Hub> {
        let hub = Arc::new(Hub::default());
        let mut events = coord.events().subscribe();
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    e = events.recv() => e,
                };
                let Some(hub) = weak.upgrade() else { return };
                match event {
                    Ok(event) => hub.notify(&event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            "resource notifications: skipped {n} events (too many at once)"
                        );
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    /// Records a subscription (a repeated one is kept once).
    pub fn subscribe(&self, identity: Arc<ConnectionIdentity>, peer: Peer<RoleServer>, uri: &str) {
        let mut subs = self.subs.lock();
        let id = identity.connection_id().to_string();
        if !subs
            .iter()
            .any(|s| s.uri == uri && s.identity.connection_id() == id)
        {
            subs.push(Subscription {
                uri: uri.to_string(),
                identity,
                peer,
            });
        }
    }

    pub fn unsubscribe(&self, connection_id: &str, uri: &str) {
        self.subs
            .lock()
            .retain(|s| !(s.uri == uri && s.identity.connection_id() == connection_id));
    }

    /// Live subscriptions (for tests and `/health`-style introspection).
    pub fn len(&self) -> usize {
        self.subs.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn notify(&self, event: &Event) {
        let changed = changed_by(event);
        let mut targets = Vec::new();
        {
            let mut subs = self.subs.lock();
            subs.retain(|s| !s.peer.is_transport_closed());
            for s in subs.iter() {
                let hit = changed.iter().any(|c| match c {
                    Changed::Uri(u) => &s.uri == u,
                    Changed::Inbox(to) => s.uri == INBOX && &s.identity.session() == to,
                });
                if hit {
                    targets.push((s.peer.clone(), s.uri.clone()));
                }
            }
        }
        if targets.is_empty() {
            return;
        }
        // One task drives every send (a thousand subscribers are a thousand futures, not a
        // thousand tasks); each has its own timeout, so a slow client delays nobody.
        tokio::spawn(async move {
            let mut sends: FuturesUnordered<_> = targets
                .into_iter()
                .map(|(peer, uri)| async move {
                    let param = rmcp::model::ResourceUpdatedNotificationParam::new(uri.clone());
                    let sent =
                        tokio::time::timeout(NOTIFY_TIMEOUT, peer.notify_resource_updated(param))
                            .await;
                    (uri, matches!(sent, Ok(Ok(()))))
                })
                .collect();
            while let Some((uri, delivered)) = sends.next().await {
                if !delivered {
                    tracing::debug!(%uri, "a resource notification was not delivered");
                }
            }
        });
    }
}
