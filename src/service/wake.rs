//! Waking idle agents (issue 15). A Claude Code agent idle at its prompt runs our
//! `asyncRewake` hook (`mcp-coord hook --wait`, armed at SessionStart and at every Stop); the
//! hook long-polls here until a message arrives that should wake it (`messages.wake_kinds`),
//! then claims it and exits 2, which starts a new turn with the messages as a system reminder.
//!
//! Two steps, so a message is never lost to a waiter that died (Claude exited, the hook was
//! killed) while its long-poll was parked: [`Coordinator::wait_for_wake`] only *looks*
//! (peek), and the hook then calls [`Coordinator::claim_wake`], which takes the messages out
//! of the inbox in one atomic store step. Every other delivery path (prompt context, the Stop
//! block) also reads atomically, so each message reaches the agent once, whichever path wins.
//!
//! One waiter per session: every Stop arms a new hook while an older one may still wait (the
//! user typed in between). The newest (by arming time) wins; an older one is told
//! `superseded` and exits quietly, so 50 idle agents hold 50 long-polls, not more.
//!
//! Waiting is not activity: it never heartbeats, so an idle agent's tier still ages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::locks::WaitContext;
use super::{Caller, Coordinator, ServiceError};
use crate::domain::message::{Message, MessageKind, check_id};
use crate::domain::wake::WakePolicy;
use crate::store::messages::ReadQuery;

/// Re-read at least this often while waiting, in case a wake-up hint was lost (Redis pub/sub
/// is fire-and-forget). Hints make the usual wake-up immediate.
pub const WAKE_RECHECK: Duration = Duration::from_secs(5);
/// Most messages one wake-up delivers.
pub const MAX_WAKE_MESSAGES: usize = 50;

/// What the waiting hook asks for: `wait_for_wake` (the hook, `cli/hook_wait.rs`, sends
/// this type; `/hooks/claude/wait` reads it).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WakeArgs {
    /// Wait at most this long (at most `messages.max_wait_seconds`); the hook asks again.
    pub wait_seconds: u64,
    /// The waiting hook process (a random id it picked).
    pub waiter: String,
    /// When that hook process was armed (ms since the epoch, its clock): the newest waiter of
    /// a session wins.
    pub armed_at_ms: i64,
}

/// What the hook claims once `wait_for_wake` said `ready`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    /// Message ids from the `ready` answer.
    pub ids: Vec<String>,
}

/// The answer of `wait_for_wake` (the hook reads it back as this type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WakeOutcome {
    /// Messages that should wake the agent are unread: claim them.
    Ready { session: String, ids: Vec<String> },
    /// Nothing arrived within `wait_seconds`: ask again.
    Timeout { session: String },
    /// A newer waiter took over this session: exit quietly.
    Superseded { session: String },
    /// `messages.wake_kinds` is empty: never wait.
    Off,
}

/// The answer of `claim_wake`: the messages now delivered, and the text for the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claimed {
    pub session: String,
    pub messages: Vec<Message>,
    /// Empty when nothing was left to claim (another path delivered them first).
    pub text: String,
}

#[derive(Debug)]
struct Armed {
    armed_at_ms: i64,
    waiter: String,
    /// Told when a newer waiter arms for the same session.
    replaced: Arc<Notify>,
}

impl Armed {
    fn newer_than(&self, armed_at_ms: i64, waiter: &str) -> bool {
        (self.armed_at_ms, self.waiter.as_str()) > (armed_at_ms, waiter)
    }
}

/// The waiter armed per session (this daemon's; after a restart the hooks arm again).
#[derive(Debug, Default)]
pub struct Waiters {
    armed: Mutex<HashMap<String, Armed>>,
}

impl Waiters {
    /// Arms `waiter` for `session`; `None` when a newer one is armed already.
    fn arm(&self, session: &str, armed_at_ms: i64, waiter: &str) -> Option<Arc<Notify>> {
        let mut armed = self.armed.lock();
        match armed.get(session) {
            Some(a) if a.waiter == waiter => return Some(a.replaced.clone()),
            Some(a) if a.newer_than(armed_at_ms, waiter) => return None,
            Some(a) => a.replaced.notify_waiters(),
            None => {}
        }
        let replaced = Arc::new(Notify::new());
        armed.insert(
            session.to_string(),
            Armed {
                armed_at_ms,
                waiter: waiter.to_string(),
                replaced: replaced.clone(),
            },
        );
        drop(armed);
        Some(replaced)
    }

    fn is_armed(&self, session: &str, waiter: &str) -> bool {
        self.armed
            .lock()
            .get(session)
            .is_some_and(|a| a.waiter == waiter)
    }

    fn disarm(&self, session: &str, waiter: &str) {
        let mut armed = self.armed.lock();
        if armed.get(session).is_some_and(|a| a.waiter == waiter) {
            armed.remove(session);
        }
    }

    /// Sessions with a waiter parked here now.
    pub fn count(&self) -> usize {
        self.armed.lock().len()
    }
}

/// Disarms on every way out of a wait (answer, error, or the request being dropped).
struct Disarm<'a> {
    waiters: &'a Waiters,
    session: &'a str,
    waiter: &'a str,
}

impl Drop for Disarm<'_> {
    fn drop(&mut self) {
        self.waiters.disarm(self.session, self.waiter);
    }
}

/// The kinds a filtered peek must return for `policy` (status reports are checked after).
fn peek_kinds(policy: &WakePolicy) -> Vec<MessageKind> {
    [
        MessageKind::Task,
        MessageKind::Question,
        MessageKind::Reply,
        MessageKind::Info,
        MessageKind::Status,
    ]
    .into_iter()
    .filter(|k| {
        let mut probe = Message::new("", "", *k, String::new());
        probe.is_final = true;
        policy.wakes(&probe)
    })
    .collect()
}

impl Coordinator {
    /// The wake policy from `messages.wake_kinds` (validated at start).
    pub fn wake_policy(&self) -> WakePolicy {
        WakePolicy::parse(&self.settings().messages.wake_kinds).unwrap_or_default()
    }

    /// Waits until `caller` has unread messages that should wake it, `wait_seconds` pass, or
    /// a newer waiter takes over. Marks nothing read.
    pub async fn wait_for_wake(
        &self,
        caller: &Caller,
        req: WakeArgs,
        wait: WaitContext,
    ) -> Result<WakeOutcome, ServiceError> {
        let policy = self.wake_policy();
        if policy.is_off() {
            return Ok(WakeOutcome::Off);
        }
        let waiter = req.waiter.trim();
        if waiter.is_empty() || waiter.len() > 64 {
            return Err(ServiceError::invalid(
                "waiter must be 1 to 64 characters (the waiting hook's own random id)",
            ));
        }
        let session = caller.session.as_str();
        let secs = req
            .wait_seconds
            .min(self.settings().messages.max_wait_seconds);
        let deadline = Instant::now() + Duration::from_secs(secs);
        let Some(replaced) = self.waiters().arm(session, req.armed_at_ms, waiter) else {
            return Ok(WakeOutcome::Superseded {
                session: session.to_string(),
            });
        };
        let _disarm = Disarm {
            waiters: self.waiters(),
            session,
            waiter,
        };
        let query = ReadQuery {
            limit: MAX_WAKE_MESSAGES,
            peek: true,
            kinds: Some(peek_kinds(&policy)),
            inbox: self.inbox_policy(),
        };
        // Subscribe before the first read, so a message sent in between wakes us.
        let mut hints = self.store().inbox_events();
        loop {
            let was_replaced = replaced.notified();
            tokio::pin!(was_replaced);
            was_replaced.as_mut().enable();
            if !self.waiters().is_armed(session, waiter) {
                return Ok(WakeOutcome::Superseded {
                    session: session.to_string(),
                });
            }
            let unread = self.store().read_messages(session, &query).await?;
            let ids: Vec<String> = unread
                .into_iter()
                .filter(|m| policy.wakes(m))
                .map(|m| m.id)
                .collect();
            if !ids.is_empty() {
                return Ok(WakeOutcome::Ready {
                    session: session.to_string(),
                    ids,
                });
            }
            let now = Instant::now();
            if now >= deadline || wait.cancel.is_cancelled() {
                return Ok(WakeOutcome::Timeout {
                    session: session.to_string(),
                });
            }
            tokio::select! {
                _ = super::messages::wake_for(&mut hints, session, deadline.min(now + WAKE_RECHECK), &wait) => {}
                _ = &mut was_replaced => {}
            }
        }
    }

    /// Takes messages `ids` out of `caller`'s inbox for a wake-up (those still unread), and
    /// writes them for the model. Empty when another path delivered them first.
    pub async fn claim_wake(
        &self,
        caller: &Caller,
        req: ClaimArgs,
    ) -> Result<Claimed, ServiceError> {
        if req.ids.len() > MAX_WAKE_MESSAGES {
            return Err(ServiceError::invalid(format!(
                "{} ids; at most {MAX_WAKE_MESSAGES} at once",
                req.ids.len()
            )));
        }
        for id in &req.ids {
            check_id("ids", id).map_err(ServiceError::invalid)?;
        }
        let messages = self
            .store()
            .claim_messages(&caller.session, &req.ids)
            .await?;
        self.metrics().messages_delivered(messages.len() as u64);
        let text = super::hooks::wake_text(&caller.session, &messages).unwrap_or_default();
        Ok(Claimed {
            session: caller.session.clone(),
            messages,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_waiter_wins_and_an_older_one_is_refused() {
        let w = Waiters::default();
        let first = w.arm("s", 100, "a").expect("armed");
        assert!(w.arm("s", 100, "a").is_some(), "re-arming itself is fine");
        assert!(w.arm("s", 200, "b").is_some(), "a newer one takes over");
        assert!(!w.is_armed("s", "a"));
        assert!(w.arm("s", 100, "a").is_none(), "the older one is refused");
        drop(first);
        w.disarm("s", "a");
        assert!(w.is_armed("s", "b"), "only the owner disarms");
        w.disarm("s", "b");
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn peek_kinds_follow_the_policy() {
        let p = WakePolicy::parse(&["task", "final"]).unwrap();
        assert_eq!(peek_kinds(&p), [MessageKind::Task, MessageKind::Status]);
    }
}
