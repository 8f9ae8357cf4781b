//! Messages: sending (to a session, the parent, the children, a role or the whole project),
//! reading the caller's own inbox (with long-polling), request/reply, `coordinate_sessions`,
//! and the messages the daemon writes itself (a child's status to its parent, lock takeover
//! notes to the old holder).
//!
//! An inbox is only ever the caller's own: no function here takes an inbox name from a
//! caller. Waiting (long-poll, reply) subscribes to the store's wake-ups before the first
//! read and re-reads at least every [`RECHECK`], so a lost wake-up costs at most that.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::events::Event;
use super::locks::WaitContext;
use super::{Caller, Coordinator, ServiceError};
use crate::domain::message::{
    Message, MessageKind, SYSTEM_SENDER, Target, check_body, check_id, parse_id,
};
use crate::domain::session::{SessionEntry, StatusReport};
use crate::domain::session_name;
use crate::store::messages::{ReadQuery, SendOutcome, WantedReply};

/// Re-read at least this often while waiting, in case a wake-up was lost.
pub const RECHECK: Duration = Duration::from_millis(500);
/// `get_session_messages` without `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// Most messages one read returns.
pub const MAX_LIMIT: usize = 200;
/// `wait_for_response` / `send_message_to_session(wait_for_response)` without a timeout
/// (seed 002's default).
pub const DEFAULT_REPLY_TIMEOUT: u64 = 30;
/// Most sessions `coordinate_sessions` assigns at once.
pub const MAX_ASSIGNMENTS: usize = 100;

/// What `send_message_to_session` asks for.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    /// A session name, `parent`, `children`, `role:<role>`, `project`, or `session:<name>`.
    /// May be left out for a `reply` (it goes to the sender of `reply_to`).
    pub to: Option<String>,
    pub message: String,
    /// `info` (default), `task`, `question` or `reply`.
    pub kind: Option<String>,
    pub reply_to: Option<String>,
    pub ttl_seconds: Option<i64>,
    /// Also set on the message (`wants_reply`) so the recipient knows an answer is awaited.
    pub wait_for_response: bool,
    pub timeout_seconds: Option<i64>,
}

/// One recipient's delivery.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delivery {
    pub to: String,
    pub delivered: bool,
    /// Its id in that recipient's inbox (what a reply names as `reply_to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `send_message_to_session`.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// `true` when every recipient got it.
    pub success: bool,
    /// `to` as given (`children`, `role:tester`, a name).
    pub target: String,
    pub kind: MessageKind,
    /// The id, when there is exactly one recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub delivered_count: usize,
    pub recipients: Vec<Delivery>,
    /// Store clock (ms).
    pub timestamp: i64,
    /// With `wait_for_response`: the reply, or `null` when the timeout passed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Option<Message>>,
    /// With `wait_for_response`: `received`, or `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What `get_session_messages` asks for.
#[derive(Debug, Clone, Default)]
pub struct ReadRequest {
    /// Default 20, at most 200.
    pub limit: Option<usize>,
    /// Long-poll up to this many seconds when nothing is unread (0 = answer now).
    pub wait_seconds: Option<i64>,
    pub peek: bool,
    /// Only these kinds (e.g. `task` for a Stop hook). Without `peek` they are taken out of
    /// the inbox and other kinds stay unread.
    pub kinds: Option<Vec<MessageKind>>,
}

/// The answer of `coordinate_sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct Coordinated {
    pub success: bool,
    pub task_description: String,
    pub delivered_count: usize,
    pub failed_count: usize,
    /// One per assigned session, in name order.
    pub assignments: Vec<Assignment>,
    pub timestamp: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub session: String,
    pub subtask: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

fn kind_of(kind: Option<&str>) -> Result<MessageKind, ServiceError> {
    let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => return Ok(MessageKind::Info),
        Some(k) => MessageKind::parse(k).map_err(ServiceError::invalid)?,
    };
    if kind == MessageKind::Status {
        return Err(ServiceError::invalid(
            "kind status is written by the daemon when a session calls report_session_status; \
             call report_session_status to tell your parent, or send info, task, question or reply",
        ));
    }
    Ok(kind)
}

/// `ttl_seconds`: ≥ 1, clamped to the inbox TTL (a message cannot outlive its inbox).
fn ttl_ms(
    ttl_seconds: Option<i64>,
    inbox_ttl: u64,
    warnings: &mut Vec<String>,
) -> Result<Option<i64>, ServiceError> {
    match ttl_seconds {
        None => Ok(None),
        Some(t) if t < 1 => Err(ServiceError::invalid(format!(
            "ttl_seconds must be at least 1 (or left out: the message then lives as long as the inbox, {inbox_ttl} s); got {t}"
        ))),
        Some(t) if t as u64 > inbox_ttl => {
            warnings.push(format!(
                "ttl_seconds {t} is above the inbox lifetime; clamped to {inbox_ttl} (messages.inbox_ttl_seconds)"
            ));
            Ok(Some(inbox_ttl as i64 * 1000))
        }
        Some(t) => Ok(Some(t * 1000)),
    }
}

/// A wait in seconds: ≥ 0, clamped to `messages.max_wait_seconds`.
fn wait_secs(
    field: &str,
    asked: Option<i64>,
    default: u64,
    max: u64,
    warnings: &mut Vec<String>,
) -> Result<u64, ServiceError> {
    match asked {
        None => Ok(default.min(max)),
        Some(w) if w < 0 => Err(ServiceError::invalid(format!(
            "{field} must be 0 to {max}; got {w}"
        ))),
        Some(w) if w as u64 > max => {
            warnings.push(format!(
                "{field} {w} is above the maximum; clamped to {max} (messages.max_wait_seconds)"
            ));
            Ok(max)
        }
        Some(w) => Ok(w as u64),
    }
}

fn still_open(wait: &WaitContext) -> bool {
    !wait.cancel.is_cancelled() && wait.connection_open.as_ref().is_none_or(|f| f())
}

/// Sleeps until a message for `session` is sent (a hint), `until`, or cancellation.
pub(crate) async fn wake_for(
    hints: &mut broadcast::Receiver<String>,
    session: &str,
    until: Instant,
    wait: &WaitContext,
) {
    let sleep = tokio::time::sleep_until(until);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            _ = wait.cancel.cancelled() => return,
            hint = hints.recv() => match hint {
                Ok(to) if to == session => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => {
                    sleep.as_mut().await;
                    return;
                }
            },
        }
    }
}

fn role_matches(e: &SessionEntry, role: &str) -> bool {
    let r = &e.record;
    serde_json::to_value(r.role)
        .ok()
        .is_some_and(|v| v.as_str() == Some(role))
        || r.metadata.get("role").and_then(|v| v.as_str()) == Some(role)
}

impl Coordinator {
    /// `send_message_to_session`: resolves `to`, sends one message per recipient (each send
    /// one atomic store operation), and with `wait_for_response` waits for the first reply.
    pub async fn send_message(
        &self,
        caller: &Caller,
        req: SendRequest,
        wait: WaitContext,
    ) -> Result<Sent, ServiceError> {
        let settings = &self.settings().messages;
        let mut warnings = Vec::new();
        let kind = kind_of(req.kind.as_deref())?;
        check_body(&req.message, settings.max_bytes).map_err(ServiceError::invalid)?;
        let ttl = ttl_ms(req.ttl_seconds, settings.inbox_ttl_seconds, &mut warnings)?;
        let reply_to = req
            .reply_to
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if let Some(r) = &reply_to {
            check_id("reply_to", r).map_err(ServiceError::invalid)?;
        }
        if kind == MessageKind::Reply && reply_to.is_none() {
            return Err(ServiceError::invalid(
                "a reply needs reply_to: the id of the message you answer (its id field in get_session_messages)",
            ));
        }
        let timeout = if req.wait_for_response {
            Some(wait_secs(
                "timeout_seconds",
                req.timeout_seconds,
                DEFAULT_REPLY_TIMEOUT,
                settings.max_wait_seconds,
                &mut warnings,
            )?)
        } else {
            None
        };
        let to = match req
            .to
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
        {
            Some(to) => to,
            None => match &reply_to {
                Some(r) => self.sender_of(caller, r).await?,
                None => {
                    return Err(ServiceError::invalid(
                        "to is missing: name a session, or parent, children, project, role:<role>; list_sessions shows who is there",
                    ));
                }
            },
        };
        let target = Target::parse(&to).map_err(ServiceError::invalid)?;
        let recipients = self.resolve(caller, &target, &to).await?;

        let mut message = Message::new(&caller.session, "", kind, req.message);
        message.reply_to = reply_to;
        message.wants_reply = req.wait_for_response || kind == MessageKind::Question;
        let mut deliveries = Vec::with_capacity(recipients.len());
        for name in &recipients {
            message.to = name.clone();
            deliveries.push(self.deliver(&message, ttl).await?);
        }
        let delivered_count = deliveries.iter().filter(|d| d.delivered).count();
        if !target.is_fan_out()
            && let [d] = deliveries.as_slice()
            && !d.delivered
        {
            return Err(self.unreachable(&d.to).await);
        }
        let timestamp = self.store().now_ms().await?;
        let mut sent = Sent {
            success: delivered_count == deliveries.len(),
            target: to,
            kind,
            message_id: match deliveries.as_slice() {
                [d] => d.message_id.clone(),
                _ => None,
            },
            delivered_count,
            recipients: deliveries,
            timestamp,
            response: None,
            response_status: None,
            warnings,
        };
        if let Some(secs) = timeout {
            let wanted: Vec<WantedReply> = sent
                .recipients
                .iter()
                .filter_map(|d| {
                    d.message_id.clone().map(|id| WantedReply {
                        id,
                        from: Some(d.to.clone()),
                    })
                })
                .collect();
            let reply = self
                .await_reply(caller, &wanted, Duration::from_secs(secs), &wait)
                .await?;
            sent.response_status = Some(if reply.is_some() {
                "received"
            } else {
                "timeout"
            });
            sent.response = Some(reply);
        }
        Ok(sent)
    }

    /// Sends one message to one recipient; `delivered: false` when it is not live.
    async fn deliver(&self, message: &Message, ttl: Option<i64>) -> Result<Delivery, ServiceError> {
        match self.store().send_message(message, ttl).await? {
            SendOutcome::Sent { id, at_ms } => {
                self.metrics().messages_sent(1);
                self.events().publish(Event::MessageSent {
                    from: message.from.clone(),
                    to: message.to.clone(),
                    kind: message.kind,
                    message_id: id.clone(),
                    at_ms,
                });
                Ok(Delivery {
                    to: message.to.clone(),
                    delivered: true,
                    message_id: Some(id),
                    error: None,
                })
            }
            SendOutcome::NotLive => Ok(Delivery {
                to: message.to.clone(),
                delivered: false,
                message_id: None,
                error: Some(format!(
                    "{} is not a live session (it ended, or never registered)",
                    message.to
                )),
            }),
        }
    }

    /// The error for a single recipient that cannot be reached: unknown, or ended when.
    async fn unreachable(&self, name: &str) -> ServiceError {
        let ended = match self.store().get_session(name).await {
            Ok(Some(e)) => e.record.ended_at_ms,
            _ => None,
        };
        let why = match ended {
            Some(at) => format!(
                "session {name} has ended ({} ago), so it reads no messages",
                super::locks::human_ms(self.store().now_ms().await.unwrap_or(at) - at)
            ),
            None => format!("there is no live session named {name}"),
        };
        ServiceError::not_found(format!(
            "{why}; nothing was sent. list_sessions shows the live sessions (get_child_sessions your children); \
             send to one of those, or to parent, children, project or role:<role>"
        ))
        .with_details(json!({ "to": name }))
    }

    /// Who `to` names, for `caller`. Fan-outs never include the caller.
    async fn resolve(
        &self,
        caller: &Caller,
        target: &Target,
        to: &str,
    ) -> Result<Vec<String>, ServiceError> {
        if let Target::Session(name) = target {
            return Ok(vec![name.clone()]);
        }
        let me = self
            .store()
            .get_session(&caller.session)
            .await?
            .filter(|e| e.live)
            .ok_or_else(|| {
                ServiceError::not_found(format!(
                    "you ({}) are not a registered session, so {to} means nobody; call register_session first",
                    caller.session
                ))
            })?;
        let none = |what: String| {
            ServiceError::not_found(format!(
                "{what}; nothing was sent. list_sessions shows who is there"
            ))
            .with_details(json!({ "to": to }))
        };
        let names: Vec<String> = match target {
            Target::Session(_) => unreachable!("handled above"),
            Target::Parent => match &me.record.parent {
                Some(p) => vec![p.clone()],
                None => {
                    return Err(none(format!(
                        "you ({}) have no parent session (register_session(parent=…) sets one)",
                        caller.session
                    )));
                }
            },
            Target::Children => self
                .store()
                .child_sessions(&caller.session)
                .await?
                .into_iter()
                .filter(|e| e.live)
                .map(|e| e.record.name)
                .collect(),
            Target::Role(_) | Target::Project => {
                let Some(project) = &me.record.project else {
                    return Err(none(format!(
                        "you ({}) belong to no project, so {to} means nobody; register_session(project=…) sets it",
                        caller.session
                    )));
                };
                self.store()
                    .list_sessions(false)
                    .await?
                    .into_iter()
                    .filter(|e| e.record.project.as_ref() == Some(project))
                    .filter(|e| e.record.name != caller.session)
                    .filter(|e| match target {
                        Target::Role(role) => role_matches(e, role),
                        _ => true,
                    })
                    .map(|e| e.record.name)
                    .collect()
            }
        };
        let mut names = names;
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(none(match target {
                Target::Children => format!("you ({}) have no live children", caller.session),
                Target::Role(role) => format!(
                    "no live session with role {role} in your project (role is the session's role or metadata.role)"
                ),
                _ => "nobody else is live in your project".to_string(),
            }));
        }
        Ok(names)
    }

    /// The sender of message `id` in the caller's inbox (for a reply without `to`).
    async fn sender_of(&self, caller: &Caller, id: &str) -> Result<String, ServiceError> {
        match self.store().find_message(&caller.session, id).await? {
            Some(m) if !m.system => Ok(m.from),
            Some(_) => Err(ServiceError::invalid(format!(
                "message {id} was written by {SYSTEM_SENDER} itself; there is nobody to reply to"
            ))),
            None => Err(ServiceError::not_found(format!(
                "message {id} is not in your inbox (trimmed or expired?); give to=… to say who the reply is for"
            ))),
        }
    }

    /// `get_session_messages`: the caller's unread messages, oldest first; long-polls up to
    /// `wait_seconds` when there are none. Advances the cursor unless `peek`.
    pub async fn read_inbox(
        &self,
        caller: &Caller,
        req: ReadRequest,
        wait: WaitContext,
    ) -> Result<Vec<Message>, ServiceError> {
        let limit = match req.limit {
            None => DEFAULT_LIMIT,
            Some(0) => {
                return Err(ServiceError::invalid(format!(
                    "limit must be 1 to {MAX_LIMIT}; got 0"
                )));
            }
            Some(n) => n.min(MAX_LIMIT),
        };
        let max = self.settings().messages.max_wait_seconds;
        let secs = wait_secs("wait_seconds", req.wait_seconds, 0, max, &mut Vec::new())?;
        let query = ReadQuery {
            limit,
            peek: req.peek,
            kinds: req.kinds,
        };
        let deadline = Instant::now() + Duration::from_secs(secs);
        // Subscribe before the first read, so a message sent in between wakes us.
        let mut hints = self.store().inbox_events();
        loop {
            let messages = self.store().read_messages(&caller.session, &query).await?;
            let now = Instant::now();
            if !messages.is_empty() || now >= deadline || !still_open(&wait) {
                if !query.peek {
                    self.metrics().messages_delivered(messages.len() as u64);
                }
                return Ok(messages);
            }
            wake_for(
                &mut hints,
                &caller.session,
                deadline.min(now + RECHECK),
                &wait,
            )
            .await;
        }
    }

    /// `wait_for_response(message_id, timeout_seconds)`: waits for a `reply` to the caller's
    /// message `message_id` (from `from`, when given) in the caller's inbox. A reply found
    /// here is taken out of the inbox: `get_session_messages` will not hand it out again.
    pub async fn wait_for_response(
        &self,
        caller: &Caller,
        message_id: &str,
        from: Option<String>,
        timeout_seconds: Option<i64>,
        wait: WaitContext,
    ) -> Result<Option<Message>, ServiceError> {
        let message_id = message_id.trim();
        check_id("message_id", message_id).map_err(ServiceError::invalid)?;
        let from = from.map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
        if let Some(f) = &from {
            session_name::validate(f).map_err(|e| ServiceError::invalid(format!("from: {e}")))?;
        }
        let secs = wait_secs(
            "timeout_seconds",
            timeout_seconds,
            DEFAULT_REPLY_TIMEOUT,
            self.settings().messages.max_wait_seconds,
            &mut Vec::new(),
        )?;
        let wanted = [WantedReply {
            id: message_id.to_string(),
            from,
        }];
        self.await_reply(caller, &wanted, Duration::from_secs(secs), &wait)
            .await
    }

    async fn await_reply(
        &self,
        caller: &Caller,
        wanted: &[WantedReply],
        timeout: Duration,
        wait: &WaitContext,
    ) -> Result<Option<Message>, ServiceError> {
        // A reply is newer than what it answers: look from the oldest asked message's time.
        let since = wanted
            .iter()
            .filter_map(|w| parse_id(&w.id).map(|(ms, _)| ms as i64))
            .min()
            .unwrap_or(0);
        let deadline = Instant::now() + timeout;
        let mut hints = self.store().inbox_events();
        loop {
            if let Some(reply) = self
                .store()
                .take_reply(&caller.session, wanted, since)
                .await?
            {
                self.metrics().messages_delivered(1);
                return Ok(Some(reply));
            }
            let now = Instant::now();
            if now >= deadline || !still_open(wait) {
                return Ok(None);
            }
            wake_for(
                &mut hints,
                &caller.session,
                deadline.min(now + RECHECK),
                wait,
            )
            .await;
        }
    }

    /// `coordinate_sessions(task_description, assignments)` (seed 003): one `task` message
    /// per session ("<task>\n\nYour part: <subtask>"), each delivered or not on its own.
    pub async fn coordinate_sessions(
        &self,
        caller: &Caller,
        task_description: &str,
        assignments: BTreeMap<String, String>,
    ) -> Result<Coordinated, ServiceError> {
        let task = task_description.trim();
        if task.is_empty() {
            return Err(ServiceError::invalid(
                "task_description is empty; describe the overall task every session works toward",
            ));
        }
        if assignments.is_empty() {
            return Err(ServiceError::invalid(
                "assignments is empty; give {\"session-name\": \"its subtask\", …}",
            ));
        }
        if assignments.len() > MAX_ASSIGNMENTS {
            return Err(ServiceError::invalid(format!(
                "{} assignments; at most {MAX_ASSIGNMENTS} at once",
                assignments.len()
            )));
        }
        let max_bytes = self.settings().messages.max_bytes;
        let mut bodies = Vec::with_capacity(assignments.len());
        for (session, subtask) in &assignments {
            session_name::validate(session)
                .map_err(|e| ServiceError::invalid(format!("assignments: {e}")))?;
            if subtask.trim().is_empty() {
                return Err(ServiceError::invalid(format!(
                    "the subtask for {session} is empty; say what {session} should do"
                )));
            }
            let body = format!("{task}\n\nYour part: {}", subtask.trim());
            check_body(&body, max_bytes)
                .map_err(|e| ServiceError::invalid(format!("the task for {session}: {e}")))?;
            bodies.push((session.clone(), subtask.trim().to_string(), body));
        }
        let mut out = Vec::with_capacity(bodies.len());
        for (session, subtask, body) in bodies {
            let mut m = Message::new(&caller.session, &session, MessageKind::Task, body);
            m.wants_reply = false;
            let delivery = self.deliver(&m, None).await?;
            out.push(Assignment {
                session,
                subtask,
                delivery,
            });
        }
        let delivered_count = out.iter().filter(|a| a.delivery.delivered).count();
        Ok(Coordinated {
            success: delivered_count == out.len(),
            task_description: task.to_string(),
            failed_count: out.len() - delivered_count,
            delivered_count,
            assignments: out,
            timestamp: self.store().now_ms().await?,
        })
    }

    /// A child's status report, as a `status` message in its parent's inbox (`final` for
    /// done/failed). Called by `report_session_status` in the same request. Returns whether
    /// the parent got it (it may have ended).
    pub(crate) async fn route_status(
        &self,
        child: &str,
        parent: &str,
        report: &StatusReport,
    ) -> Result<bool, ServiceError> {
        let message = Message::status(child, parent, report);
        Ok(self.deliver(&message, None).await?.delivered)
    }

    /// A message from the daemon itself (`from: mcp-coord`, `system: true`) to a live
    /// session; `false` when it is not live.
    pub async fn send_system_message(&self, to: &str, body: String) -> Result<bool, ServiceError> {
        let mut message = Message::new(SYSTEM_SENDER, to, MessageKind::Info, body);
        message.system = true;
        Ok(self.deliver(&message, None).await?.delivered)
    }
}
