//! Embedded implementation of [`MessageStore`](crate::store::MessageStore): the same rules
//! as the `inbox_*.lua` scripts (cap, inbox TTL, cursor, per-message TTL, taking replies),
//! each operation under the one state mutex. Wake-ups go through an in-process broadcast.

use std::collections::{HashMap, VecDeque};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{MemoryStore, wall_clock_ms};
use crate::domain::message::{Message, parse_id};
use crate::store::StoreError;
use crate::store::messages::{MessageStore, ReadQuery, SendOutcome, WantedReply};

/// The messages part of the embedded state.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageState {
    /// Session → its inbox (the twin of `inbox:{session}` and `inbox:cursor:{session}`).
    pub inboxes: HashMap<String, Inbox>,
    /// Recipient names of sent messages, for long-polls (not saved).
    #[serde(skip, default = "new_wakeups")]
    wakeups: broadcast::Sender<String>,
}

impl Default for MessageState {
    fn default() -> Self {
        Self {
            inboxes: HashMap::new(),
            wakeups: new_wakeups(),
        }
    }
}

fn new_wakeups() -> broadcast::Sender<String> {
    broadcast::channel(1024).0
}

/// One inbox: entries oldest first, ids `(ms, seq)` increasing like a stream's.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Inbox {
    pub entries: VecDeque<Entry>,
    /// The last id ever given (ids never go back, even after trimming).
    pub last_id: (u64, u64),
    /// The whole inbox (and its cursor) is gone after this (ms).
    pub expires_at: i64,
    /// Id of the last message handed to the owner.
    pub cursor: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: (u64, u64),
    pub message: Message,
    /// Per-message TTL (ms), counted from the id's time.
    pub ttl_ms: Option<i64>,
}

impl Entry {
    fn expired(&self, now: i64) -> bool {
        self.ttl_ms.is_some_and(|t| self.id.0 as i64 + t <= now)
    }

    fn to_message(&self) -> Message {
        let mut m = self.message.clone();
        m.id = format!("{}-{}", self.id.0, self.id.1);
        m.sent_at_ms = self.id.0 as i64;
        m.expires_at_ms = self.ttl_ms.map(|t| m.sent_at_ms + t);
        m
    }
}

impl MessageState {
    /// Drops inboxes whose TTL passed (like Redis expiring the keys).
    fn expire(&mut self, now: i64) {
        self.inboxes.retain(|_, inbox| inbox.expires_at > now);
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn send_message(
        &self,
        message: &Message,
        ttl_ms: Option<i64>,
    ) -> Result<SendOutcome, StoreError> {
        let s = &self.settings().messages;
        let (cap, inbox_ttl) = (s.inbox_cap, (s.inbox_ttl_seconds as i64) * 1000);
        let now = wall_clock_ms();
        Ok(self.with_state(|st| {
            if !st.sessions.last_seen.contains_key(&message.to) {
                return SendOutcome::NotLive;
            }
            st.messages.expire(now);
            let inbox = st.messages.inboxes.entry(message.to.clone()).or_default();
            let ms = (now.max(0) as u64).max(inbox.last_id.0);
            let id = if ms == inbox.last_id.0 {
                (ms, inbox.last_id.1 + 1)
            } else {
                (ms, 0)
            };
            inbox.last_id = id;
            let mut stored = message.clone();
            stored.id.clear();
            inbox.entries.push_back(Entry {
                id,
                message: stored,
                ttl_ms,
            });
            while inbox.entries.len() > cap {
                inbox.entries.pop_front();
            }
            inbox.expires_at = now + inbox_ttl;
            let _ = st.messages.wakeups.send(message.to.clone());
            SendOutcome::Sent {
                id: format!("{}-{}", id.0, id.1),
                at_ms: id.0 as i64,
            }
        }))
    }

    async fn read_messages(
        &self,
        session: &str,
        query: &ReadQuery,
    ) -> Result<Vec<Message>, StoreError> {
        let now = wall_clock_ms();
        let limit = query.limit.max(1);
        Ok(self.with_state(|st| {
            st.messages.expire(now);
            let Some(inbox) = st.messages.inboxes.get_mut(session) else {
                return Vec::new();
            };
            let after = inbox.cursor.unwrap_or((0, 0));
            let mut out = Vec::new();
            let mut taken = Vec::new();
            let mut last_scanned = None;
            for e in inbox.entries.iter().filter(|e| e.id > after) {
                if out.len() >= limit {
                    break;
                }
                let live = !e.expired(now);
                match &query.kinds {
                    Some(kinds) => {
                        if live && kinds.contains(&e.message.kind) {
                            out.push(e.to_message());
                            taken.push(e.id);
                        }
                    }
                    None => {
                        last_scanned = Some(e.id);
                        if live {
                            out.push(e.to_message());
                        }
                    }
                }
            }
            if !query.peek {
                // The cursor lives as long as its inbox here (Redis gives the cursor key
                // its own TTL; either way an expired inbox starts unread from scratch).
                if last_scanned.is_some() {
                    inbox.cursor = last_scanned;
                }
                inbox.entries.retain(|e| !taken.contains(&e.id));
            }
            out
        }))
    }

    async fn claim_messages(
        &self,
        session: &str,
        ids: &[String],
    ) -> Result<Vec<Message>, StoreError> {
        let now = wall_clock_ms();
        let wanted: Vec<(u64, u64)> = ids.iter().filter_map(|id| parse_id(id)).collect();
        Ok(self.with_state(|st| {
            st.messages.expire(now);
            let Some(inbox) = st.messages.inboxes.get_mut(session) else {
                return Vec::new();
            };
            let after = inbox.cursor.unwrap_or((0, 0));
            let claim = |e: &Entry| e.id > after && !e.expired(now) && wanted.contains(&e.id);
            let out: Vec<Message> = inbox
                .entries
                .iter()
                .filter(|e| claim(e))
                .map(Entry::to_message)
                .collect();
            inbox.entries.retain(|e| !claim(e));
            out
        }))
    }

    async fn find_message(&self, session: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let Some(id) = parse_id(id) else {
            return Ok(None);
        };
        let now = wall_clock_ms();
        Ok(self.with_state(|st| {
            st.messages.expire(now);
            st.messages
                .inboxes
                .get(session)?
                .entries
                .iter()
                .find(|e| e.id == id)
                .map(Entry::to_message)
        }))
    }

    async fn take_reply(
        &self,
        session: &str,
        wanted: &[WantedReply],
        since_ms: i64,
    ) -> Result<Option<Message>, StoreError> {
        let now = wall_clock_ms();
        let since = (since_ms.max(0) as u64, 0);
        Ok(self.with_state(|st| {
            st.messages.expire(now);
            let inbox = st.messages.inboxes.get_mut(session)?;
            let at = inbox.entries.iter().position(|e| {
                e.id >= since
                    && !e.expired(now)
                    && e.message.kind == crate::domain::message::MessageKind::Reply
                    && e.message.reply_to.as_ref().is_some_and(|r| {
                        wanted.iter().any(|w| {
                            &w.id == r && w.from.as_ref().is_none_or(|f| f == &e.message.from)
                        })
                    })
            })?;
            inbox.entries.remove(at).map(|e| e.to_message())
        }))
    }

    fn inbox_events(&self) -> broadcast::Receiver<String> {
        self.with_state(|st| st.messages.wakeups.subscribe())
    }

    async fn publish_event(&self, _payload: String) -> Result<(), StoreError> {
        Ok(())
    }

    fn event_feed(&self) -> Option<broadcast::Receiver<String>> {
        None
    }
}
