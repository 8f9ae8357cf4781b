//! Reading: the caller's own inbox (with long-polling) and waiting for the reply to a
//! request.

use tokio::time::Instant;

use super::input::*;
use super::*;
use crate::domain::message::{Message, check_id, parse_id};
use crate::domain::session_name;
use crate::service::locks::WaitContext;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::messages::{ReadQuery, WantedReply};

impl Coordinator {
    /// `get_session_messages`: the caller's unread messages, oldest first; long-polls up to
    /// `wait_seconds` when there are none. Advances the cursor unless `peek`.
    pub async fn read_inbox(
        &self,
        caller: &Caller,
        req: ReadArgs,
        wait: WaitContext,
    ) -> Result<Inbox, ServiceError> {
        let limit = match req.limit {
            None => DEFAULT_LIMIT,
            Some(n) if n < 1 => {
                return Err(ServiceError::invalid(format!(
                    "limit must be 1 to {MAX_LIMIT}; got {n}"
                )));
            }
            Some(n) => (n as usize).min(MAX_LIMIT),
        };
        let kinds = kinds(req.kinds)?;
        let max = self.settings().messages.max_wait_seconds;
        let secs = wait_secs("wait_seconds", req.wait_seconds, 0, max, &mut Vec::new())?;
        let query = ReadQuery {
            limit,
            peek: req.peek,
            kinds,
            inbox: self.inbox_policy(),
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
                return Ok(Inbox {
                    session: caller.session.clone(),
                    count: messages.len(),
                    peek: query.peek,
                    messages,
                });
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
        args: WaitArgs,
        wait: WaitContext,
    ) -> Result<ReplyWait, ServiceError> {
        let WaitArgs {
            message_id,
            timeout_seconds,
            from,
        } = args;
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
        let reply = self
            .await_reply(caller, &wanted, Duration::from_secs(secs), &wait)
            .await?;
        Ok(ReplyWait {
            message_id: message_id.to_string(),
            received: reply.is_some(),
            status: if reply.is_some() {
                "received"
            } else {
                "timeout"
            },
            response: reply,
        })
    }

    pub(super) async fn await_reply(
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
}
