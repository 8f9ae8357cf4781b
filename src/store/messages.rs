//! The messages part of the store trait: one inbox per session with a read cursor, and the
//! daemon-wide event feed that lets daemons sharing a store hear each other's events.
//!
//! An inbox is a capped stream (Redis Stream `inbox:{session}`; a deque in the embedded
//! store) with a TTL refreshed by every write. Its read cursor (`inbox:cursor:{session}`) is
//! the id of the last message handed to the owner. A reply taken by `wait_for_response` is
//! removed from the inbox, so it is handed out once; so are messages taken with a kind filter
//! and messages claimed by id (a wake-up's delivery).

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::StoreError;
use crate::domain::message::{Message, MessageKind};

/// What [`MessageStore::send_message`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Added to the recipient's inbox under `id`, at store time `at_ms`.
    Sent { id: String, at_ms: i64 },
    /// The recipient is not a live session (never registered, or ended); nothing written.
    NotLive,
}

/// The inbox rules a store applies, handed in by the service (the store holds no settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxPolicy {
    /// Messages kept per inbox; older ones are trimmed.
    pub cap: usize,
    /// An inbox nobody writes to (or reads) expires after this long.
    pub ttl_ms: i64,
}

/// What a read returns and whether it consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadQuery {
    /// At most this many messages (≥ 1).
    pub limit: usize,
    /// Leave the cursor (and the inbox) as they are.
    pub peek: bool,
    /// Only these kinds. Without `peek`, the matching messages are removed from the inbox
    /// (taken out of order) and the cursor stays, so other kinds stay unread.
    pub kinds: Option<Vec<MessageKind>>,
    /// The inbox's rules (a read refreshes its TTL).
    pub inbox: InboxPolicy,
}

/// A reply a waiter is looking for: `reply_to` = `id`, sent by `from` (any sender when
/// `None`). Ids are unique per inbox only, so a sender that knows who it asked names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedReply {
    pub id: String,
    pub from: Option<String>,
}

/// Store operations for messages. Each method is one atomic operation.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends `message` (its `to`, `from`, kind and body set; `id` and times are stamped
    /// here) to the recipient's inbox if the recipient is a live session: trims the inbox to
    /// `inbox.cap`, refreshes its TTL and its cursor's, and wakes the recipient's
    /// long-polls. `ttl_ms` makes readers skip it once that much time has passed.
    async fn send_message(
        &self,
        message: &Message,
        ttl_ms: Option<i64>,
        inbox: &InboxPolicy,
    ) -> Result<SendOutcome, StoreError>;

    /// Unread messages of `session`, oldest first, skipping expired ones; advances the
    /// cursor past what it returns (and past skipped expired ones) unless `peek`.
    async fn read_messages(
        &self,
        session: &str,
        query: &ReadQuery,
    ) -> Result<Vec<Message>, StoreError>;

    /// Claims messages `ids` of `session`'s inbox for delivery: those still unread (after the
    /// cursor, in the inbox, not expired) are taken out of the inbox and returned, oldest
    /// first; the others are left out. Whichever path delivers a message (a wake-up, prompt
    /// context, a Stop block) claims or reads it in one atomic step, so it is delivered once.
    async fn claim_messages(
        &self,
        session: &str,
        ids: &[String],
    ) -> Result<Vec<Message>, StoreError>;

    /// One message of `session`'s inbox by id, read or not (expired ones too).
    async fn find_message(&self, session: &str, id: &str) -> Result<Option<Message>, StoreError>;

    /// The oldest unexpired `reply` in `session`'s inbox that answers one of `wanted`
    /// (looking at messages with ids from `since_ms` on, read or not); removes it from the
    /// inbox so it is not handed out again.
    async fn take_reply(
        &self,
        session: &str,
        wanted: &[WantedReply],
        since_ms: i64,
    ) -> Result<Option<Message>, StoreError>;

    /// Recipient names of messages sent from now on (any daemon on this store): a hint for
    /// long-polls to read again. Hints may be lost; waiters re-check anyway.
    fn inbox_events(&self) -> broadcast::Receiver<String>;

    /// Sends a daemon event (a JSON envelope) to every daemon on this store. The embedded
    /// store has no other daemons: nothing to do.
    async fn publish_event(&self, payload: String) -> Result<(), StoreError>;

    /// Sends several daemon events, in order, in one round trip where the store can (the
    /// relay sends what queued up while the previous batch was on its way).
    async fn publish_events(&self, payloads: Vec<String>) -> Result<(), StoreError> {
        for payload in payloads {
            self.publish_event(payload).await?;
        }
        Ok(())
    }

    /// Events published by any daemon on this store (this one's too), or `None` when the
    /// store cannot be shared.
    fn event_feed(&self) -> Option<broadcast::Receiver<String>>;
}
