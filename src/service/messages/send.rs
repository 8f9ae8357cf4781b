//! Sending: `send_message_to_session` resolves its target (a session, the parent, the
//! children, a role, the project) to recipients and delivers one message to each, each
//! delivery one atomic store operation.

use serde_json::json;

use super::input::*;
use super::*;
use crate::domain::message::{Message, MessageKind, SYSTEM_SENDER, Target, check_body, check_id};
use crate::service::events::Event;
use crate::service::locks::WaitContext;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::messages::{SendOutcome, WantedReply};

impl Coordinator {
    /// `send_message_to_session`: resolves `to`, sends one message per recipient (each send
    /// one atomic store operation), and with `wait_for_response` waits for the first reply.
    pub async fn send_message(
        &self,
        caller: &Caller,
        req: SendArgs,
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
    pub(super) async fn deliver(
        &self,
        message: &Message,
        ttl: Option<i64>,
    ) -> Result<Delivery, ServiceError> {
        match self
            .store()
            .send_message(message, ttl, &self.inbox_policy())
            .await?
        {
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
                crate::service::human_time::human_ms(
                    self.store().now_ms().await.unwrap_or(at) - at
                )
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
            // A Claude session id stands for the session its hooks registered.
            return Ok(vec![self.resolve_alias(name).await]);
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
}
