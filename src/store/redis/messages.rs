//! Redis implementation of [`MessageStore`](crate::store::MessageStore): each send, read and
//! reply-taking is one Lua script (`scripts/inbox_*.lua`).
//!
//! Wake-ups and cross-daemon events arrive over pub/sub on one dedicated connection per
//! store (never the shared multiplexed one, which must not block): channels `events:inbox`
//! (recipient names) and `events` (daemon events). It re-subscribes with backoff after a
//! Redis restart; anything published meanwhile is lost, which is why waiters re-check.

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::Script;
use tokio::sync::broadcast;

use super::RedisStore;
use crate::domain::message::Message;
use crate::store::StoreError;
use crate::store::messages::{InboxPolicy, MessageStore, ReadQuery, SendOutcome, WantedReply};

static SEND: LazyLock<Script> = script!("inbox_send.lua");
static READ: LazyLock<Script> = script!("inbox_read.lua");
static CLAIM: LazyLock<Script> = script!("inbox_claim.lua");
static TAKE_REPLY: LazyLock<Script> = script!("inbox_take_reply.lua");

/// Longest pause between two attempts to re-subscribe.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The two broadcasts fed by the store's subscriber task (started on first use).
#[derive(Clone, Default)]
pub struct MessageFeeds {
    senders: Arc<OnceLock<Feeds>>,
}

struct Feeds {
    inbox: broadcast::Sender<String>,
    events: broadcast::Sender<String>,
}

/// Parses the flat `id, json, ttl, id, …` list the scripts return.
fn parse_entries(flat: Vec<String>) -> Result<Vec<Message>, StoreError> {
    flat.chunks(3)
        .map(|c| match c {
            [id, raw, ttl] => entry(id, raw, ttl),
            _ => Err(StoreError::Internal(
                "unexpected inbox script result (not id/message/ttl triples)".into(),
            )),
        })
        .collect()
}

fn entry(id: &str, raw: &str, ttl: &str) -> Result<Message, StoreError> {
    let mut m = Message::from_stored(id, raw)
        .map_err(|e| StoreError::Internal(format!("inbox entry {id} is not a message: {e}")))?;
    let sent = crate::domain::message::parse_id(id).map_or(0, |(ms, _)| ms as i64);
    m.sent_at_ms = sent;
    m.expires_at_ms = ttl.parse::<i64>().ok().map(|t| sent + t);
    Ok(m)
}

impl RedisStore {
    fn feeds(&self) -> &Feeds {
        self.message_feeds
            .senders
            .get_or_init(|| self.start_message_feeds())
    }

    fn start_message_feeds(&self) -> Feeds {
        let inbox = broadcast::channel(1024).0;
        let events = broadcast::channel(1024).0;
        // Weak senders: once the store is gone the task stops at the next message or retry.
        let (weak_inbox, weak_events) = (inbox.downgrade(), events.downgrade());
        let client = self.client();
        let (inbox_channel, events_channel) = (self.keys().inbox_events(), self.keys().events());
        tokio::spawn(async move {
            let Ok(client) = client else {
                tracing::warn!(
                    "message events: bad Redis URL; long-polls fall back to re-checking"
                );
                return;
            };
            let mut backoff = Duration::from_millis(100);
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(&inbox_channel).await.is_ok()
                            && pubsub.subscribe(&events_channel).await.is_ok()
                        {
                            backoff = Duration::from_millis(100);
                            let mut stream = pubsub.on_message();
                            while let Some(msg) = stream.next().await {
                                let (Some(inbox), Some(events)) =
                                    (weak_inbox.upgrade(), weak_events.upgrade())
                                else {
                                    return;
                                };
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                if msg.get_channel_name() == inbox_channel {
                                    let _ = inbox.send(payload);
                                } else {
                                    let _ = events.send(payload);
                                }
                            }
                            tracing::info!("message events: subscription lost; re-subscribing");
                        }
                    }
                    Err(e) => tracing::debug!("message events: cannot subscribe ({e}); retrying"),
                }
                if weak_inbox.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
        Feeds { inbox, events }
    }
}

#[async_trait]
impl MessageStore for RedisStore {
    async fn send_message(
        &self,
        message: &Message,
        ttl_ms: Option<i64>,
        inbox: &InboxPolicy,
    ) -> Result<SendOutcome, StoreError> {
        let k = self.keys().clone();
        let (cap, inbox_ttl) = (inbox.cap, inbox.ttl_ms);
        let to = message.to.clone();
        let json = message.to_stored_json();
        let ttl = ttl_ms.map(|t| t.to_string()).unwrap_or_default();
        let parts: Vec<String> = self
            .run(|mut c| async move {
                SEND.key(k.sessions_last_seen())
                    .key(k.inbox(&to))
                    .key(k.inbox_cursor(&to))
                    .arg(&to)
                    .arg(json)
                    .arg(ttl)
                    .arg(cap)
                    .arg(inbox_ttl)
                    .arg(k.inbox_events())
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        match parts.as_slice() {
            [ok, id] if ok == "ok" => Ok(SendOutcome::Sent {
                at_ms: crate::domain::message::parse_id(id).map_or(0, |(ms, _)| ms as i64),
                id: id.clone(),
            }),
            [nl] if nl == "not_live" => Ok(SendOutcome::NotLive),
            other => Err(StoreError::Internal(format!(
                "unexpected send script result: {other:?}"
            ))),
        }
    }

    async fn read_messages(
        &self,
        session: &str,
        query: &ReadQuery,
    ) -> Result<Vec<Message>, StoreError> {
        let k = self.keys().clone();
        let inbox_ttl = query.inbox.ttl_ms;
        let session = session.to_string();
        let kinds = query
            .kinds
            .as_ref()
            .map(|ks| ks.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        let (limit, peek) = (query.limit.max(1), if query.peek { "1" } else { "0" });
        let flat: Vec<String> = self
            .run(|mut c| async move {
                READ.key(k.inbox(&session))
                    .key(k.inbox_cursor(&session))
                    .arg(limit)
                    .arg(peek)
                    .arg(kinds)
                    .arg(inbox_ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        parse_entries(flat)
    }

    async fn claim_messages(
        &self,
        session: &str,
        ids: &[String],
    ) -> Result<Vec<Message>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let k = self.keys().clone();
        let session = session.to_string();
        let ids = ids.to_vec();
        let flat: Vec<String> = self
            .run(|mut c| async move {
                let mut inv = CLAIM.prepare_invoke();
                inv.key(k.inbox(&session)).key(k.inbox_cursor(&session));
                for id in &ids {
                    inv.arg(id);
                }
                inv.invoke_async(&mut c).await
            })
            .await?;
        parse_entries(flat)
    }

    async fn find_message(&self, session: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let key = self.keys().inbox(session);
        let id = id.to_string();
        let found: Vec<(String, Vec<(String, String)>)> = self
            .run(|mut c| async move {
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg(&id)
                    .arg(&id)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let Some((id, fields)) = found.into_iter().next() else {
            return Ok(None);
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(f, _)| f == name)
                .map(|(_, v)| v.as_str())
        };
        entry(&id, get("m").unwrap_or(""), get("ttl").unwrap_or("")).map(Some)
    }

    async fn take_reply(
        &self,
        session: &str,
        wanted: &[WantedReply],
        since_ms: i64,
    ) -> Result<Option<Message>, StoreError> {
        if wanted.is_empty() {
            return Ok(None);
        }
        let key = self.keys().inbox(session);
        let mut args = vec![format!("{}-0", since_ms.max(0))];
        for w in wanted {
            args.push(w.id.clone());
            args.push(w.from.clone().unwrap_or_default());
        }
        let flat: Vec<String> = self
            .run(|mut c| async move {
                let mut inv = TAKE_REPLY.prepare_invoke();
                inv.key(key);
                for a in &args {
                    inv.arg(a);
                }
                inv.invoke_async(&mut c).await
            })
            .await?;
        Ok(parse_entries(flat)?.into_iter().next())
    }

    fn inbox_events(&self) -> broadcast::Receiver<String> {
        self.feeds().inbox.subscribe()
    }

    async fn publish_event(&self, payload: String) -> Result<(), StoreError> {
        let channel = self.keys().events();
        self.run(|mut c| async move {
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(payload)
                .query_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|_| ())
    }

    async fn publish_events(&self, payloads: Vec<String>) -> Result<(), StoreError> {
        let channel = self.keys().events();
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for payload in payloads {
                pipe.cmd("PUBLISH").arg(&channel).arg(payload).ignore();
            }
            pipe.query_async::<()>(&mut c).await
        })
        .await
    }

    fn event_feed(&self) -> Option<broadcast::Receiver<String>> {
        Some(self.feeds().events.subscribe())
    }
}
