//! Embedded implementation of [`MessageStore`](crate::store::MessageStore): the same rules
//! as the `inbox_*.lua` scripts (cap, inbox TTL, cursor, per-message TTL, taking replies),
//! each operation one `apply` under the state mutex. Wake-ups go through an in-process
//! broadcast.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::table::{Table, TableRef};
use super::{MemoryStore, wall_clock_ms};
use crate::domain::message::{Message, parse_id};
use crate::store::StoreError;
use crate::store::messages::{InboxPolicy, MessageStore, ReadQuery, SendOutcome, WantedReply};

/// The messages part of the embedded state.
#[derive(Debug)]
pub struct MessageState {
    /// Session → its inbox's bookkeeping (the twin of `inbox:{session}`'s expiry, last id
    /// and `inbox:cursor:{session}`).
    pub inboxes: Table<String, Inbox>,
    /// (recipient, id ms, id seq) → the message: one row per message, in id order.
    pub messages: Table<MessageKey, Entry>,
    /// Recipient names of sent messages, for long-polls (not saved).
    wakeups: broadcast::Sender<String>,
}

/// A message's key: recipient, then its id `(ms, seq)`.
pub type MessageKey = (String, u64, u64);

impl Default for MessageState {
    fn default() -> Self {
        Self {
            inboxes: Table::default(),
            messages: Table::default(),
            wakeups: broadcast::channel(1024).0,
        }
    }
}

/// One inbox: ids `(ms, seq)` increasing like a stream's.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Inbox {
    /// The last id ever given (ids never go back, even after trimming).
    pub last_id: (u64, u64),
    /// The whole inbox (and its cursor) is gone after this (ms).
    pub expires_at: i64,
    /// Id of the last message handed to the owner.
    pub cursor: Option<(u64, u64)>,
}

/// A stored message (its id is the key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub message: Message,
    /// Per-message TTL (ms), counted from the id's time.
    pub ttl_ms: Option<i64>,
}

impl Entry {
    fn expired(&self, id: (u64, u64), now: i64) -> bool {
        self.ttl_ms.is_some_and(|t| id.0 as i64 + t <= now)
    }

    fn to_message(&self, id: (u64, u64)) -> Message {
        let mut m = self.message.clone();
        m.id = format!("{}-{}", id.0, id.1);
        m.sent_at_ms = id.0 as i64;
        m.expires_at_ms = self.ttl_ms.map(|t| m.sent_at_ms + t);
        m
    }
}

/// The keys of `session`'s messages with ids after `after` (all of them for `None`).
fn after_range(
    session: &str,
    after: Option<(u64, u64)>,
) -> (std::ops::Bound<MessageKey>, std::ops::Bound<MessageKey>) {
    use std::ops::Bound::{Excluded, Included};
    let lo = match after {
        Some((ms, seq)) => Excluded((session.to_string(), ms, seq)),
        None => Included((session.to_string(), 0, 0)),
    };
    (lo, Included((session.to_string(), u64::MAX, u64::MAX)))
}

impl MessageState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![
            TableRef::new("inboxes", &["session"], &mut self.inboxes),
            TableRef::new(
                "messages",
                &["recipient", "id_ms", "id_seq"],
                &mut self.messages,
            ),
        ]
    }

    /// What the readers of an inbox start from, after dropping what expired by `now`: the
    /// cursor of `session`'s inbox (`Some(None)`: nothing read yet), `None` when it has no
    /// inbox (nothing to read).
    fn open_inbox(&mut self, session: &str, now: i64) -> Option<Option<(u64, u64)>> {
        self.expire(now);
        self.inboxes.get(session).map(|i| i.cursor)
    }

    /// Drops inboxes whose TTL passed, with their messages (like Redis expiring the keys).
    fn expire(&mut self, now: i64) {
        let gone: Vec<String> = self
            .inboxes
            .iter()
            .filter(|(_, inbox)| inbox.expires_at <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            self.inboxes.remove(&name);
            let keys: Vec<MessageKey> = self
                .messages
                .range(after_range(&name, None))
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                self.messages.remove(&k);
            }
        }
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn send_message(
        &self,
        message: &Message,
        ttl_ms: Option<i64>,
        inbox: &InboxPolicy,
    ) -> Result<SendOutcome, StoreError> {
        let (cap, inbox_ttl) = (inbox.cap, inbox.ttl_ms);
        let now = wall_clock_ms();
        self.apply(|st| {
            if !st.sessions.last_seen.contains_key(&message.to) {
                return SendOutcome::NotLive;
            }
            let m = &mut st.messages;
            m.expire(now);
            let to = message.to.clone();
            let inbox = m.inboxes.get_or_default(to.clone());
            let ms = (now.max(0) as u64).max(inbox.last_id.0);
            let id = if ms == inbox.last_id.0 {
                (ms, inbox.last_id.1 + 1)
            } else {
                (ms, 0)
            };
            inbox.last_id = id;
            inbox.expires_at = now + inbox_ttl;
            let mut stored = message.clone();
            stored.id.clear();
            m.messages.insert(
                (to.clone(), id.0, id.1),
                Entry {
                    message: stored,
                    ttl_ms,
                },
            );
            let held = m.messages.range(after_range(&to, None)).count();
            let trimmed: Vec<MessageKey> = m
                .messages
                .range(after_range(&to, None))
                .take(held.saturating_sub(cap))
                .map(|(k, _)| k.clone())
                .collect();
            for k in trimmed {
                m.messages.remove(&k);
            }
            let _ = m.wakeups.send(to);
            SendOutcome::Sent {
                id: format!("{}-{}", id.0, id.1),
                at_ms: id.0 as i64,
            }
        })
        .await
    }

    async fn read_messages(
        &self,
        session: &str,
        query: &ReadQuery,
    ) -> Result<Vec<Message>, StoreError> {
        let now = wall_clock_ms();
        let limit = query.limit.max(1);
        self.apply(|st| {
            let m = &mut st.messages;
            let Some(after) = m.open_inbox(session, now) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            let mut taken = Vec::new();
            let mut last_scanned = None;
            for ((_, ms, seq), e) in m.messages.range(after_range(session, after)) {
                if out.len() >= limit {
                    break;
                }
                let id = (*ms, *seq);
                let live = !e.expired(id, now);
                match &query.kinds {
                    Some(kinds) => {
                        if live && kinds.contains(&e.message.kind) {
                            out.push(e.to_message(id));
                            taken.push(id);
                        }
                    }
                    None => {
                        last_scanned = Some(id);
                        if live {
                            out.push(e.to_message(id));
                        }
                    }
                }
            }
            if !query.peek {
                // The cursor lives as long as its inbox here (Redis gives the cursor key
                // its own TTL; either way an expired inbox starts unread from scratch).
                if last_scanned.is_some()
                    && let Some(inbox) = m.inboxes.get_mut(session)
                {
                    inbox.cursor = last_scanned;
                }
                for (ms, seq) in taken {
                    m.messages.remove(&(session.to_string(), ms, seq));
                }
            }
            out
        })
        .await
    }

    async fn claim_messages(
        &self,
        session: &str,
        ids: &[String],
    ) -> Result<Vec<Message>, StoreError> {
        let now = wall_clock_ms();
        let mut wanted: Vec<(u64, u64)> = ids.iter().filter_map(|id| parse_id(id)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        self.apply(|st| {
            let m = &mut st.messages;
            let Some(after) = m.open_inbox(session, now) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for id in wanted {
                if after.is_some_and(|c| id <= c) {
                    continue;
                }
                let key = (session.to_string(), id.0, id.1);
                let live = m.messages.get(&key).is_some_and(|e| !e.expired(id, now));
                if live && let Some(e) = m.messages.remove(&key) {
                    out.push(e.to_message(id));
                }
            }
            out
        })
        .await
    }

    async fn find_message(&self, session: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let Some(id) = parse_id(id) else {
            return Ok(None);
        };
        let now = wall_clock_ms();
        self.apply(|st| {
            st.messages.expire(now);
            st.messages
                .messages
                .get(&(session.to_string(), id.0, id.1))
                .map(|e| e.to_message(id))
        })
        .await
    }

    async fn take_reply(
        &self,
        session: &str,
        wanted: &[WantedReply],
        since_ms: i64,
    ) -> Result<Option<Message>, StoreError> {
        let now = wall_clock_ms();
        let since = (since_ms.max(0) as u64, 0);
        self.apply(|st| {
            let m = &mut st.messages;
            m.expire(now);
            let lo = (session.to_string(), since.0, since.1);
            let hi = (session.to_string(), u64::MAX, u64::MAX);
            let key = m
                .messages
                .range(lo..=hi)
                .find(|((_, ms, seq), e)| {
                    let id = (*ms, *seq);
                    !e.expired(id, now)
                        && e.message.kind == crate::domain::message::MessageKind::Reply
                        && e.message.reply_to.as_ref().is_some_and(|r| {
                            wanted.iter().any(|w| {
                                &w.id == r && w.from.as_ref().is_none_or(|f| f == &e.message.from)
                            })
                        })
                })
                .map(|(k, _)| k.clone())?;
            let e = m.messages.remove(&key)?;
            Some(e.to_message((key.1, key.2)))
        })
        .await
    }

    fn inbox_events(&self) -> broadcast::Receiver<String> {
        self.read(|st| st.messages.wakeups.subscribe())
    }

    async fn publish_event(&self, _payload: String) -> Result<(), StoreError> {
        Ok(())
    }

    fn event_feed(&self) -> Option<broadcast::Receiver<String>> {
        None
    }
}
