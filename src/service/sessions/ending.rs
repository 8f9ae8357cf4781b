//! Ending sessions: by the session itself (`end_session`), by the reaper, by an admin
//! (`service/admin`), or when a connection's generated session is replaced; the ended session's locks are released and
//! its tasks handed back.

use super::input::busy;
use super::{ATTEMPTS, Ended, EndedSession};
use crate::service::events::Event;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::sessions::EndOutcome;

impl Coordinator {
    /// Ends `name` if live (and, with `seen_before`, only if not seen after it), then
    /// releases every lock it held. Returns what was ended, or `None` when there was nothing
    /// to end.
    pub(crate) async fn end_named(
        &self,
        name: &str,
        reason: &str,
        seen_before: Option<i64>,
    ) -> Result<Option<EndedSession>, ServiceError> {
        self.end_named_with_delay(name, reason, seen_before, 0)
            .await
    }

    /// [`Self::end_named`], and with `lock_delay_ms` > 0 its locks stay free for nobody
    /// until the delay ends (an admin ended a session that may still be running:
    /// `service/admin`).
    pub(crate) async fn end_named_with_delay(
        &self,
        name: &str,
        reason: &str,
        seen_before: Option<i64>,
        lock_delay_ms: i64,
    ) -> Result<Option<EndedSession>, ServiceError> {
        for _ in 0..ATTEMPTS {
            let Some(entry) = self.store().get_session(name).await? else {
                return Ok(None);
            };
            if !entry.live {
                return Ok(None);
            }
            let now = self.store().now_ms().await?;
            let mut record = entry.record.clone();
            record.ended_at_ms = Some(now);
            record.end_reason = Some(reason.to_string());
            record.last_seen_ms = if seen_before.is_some() {
                entry.last_seen_ms
            } else {
                now
            };
            record.rev += 1;
            match self
                .store()
                .end_session(record, entry.record.rev, seen_before)
                .await?
            {
                EndOutcome::Ended(ended) => {
                    tracing::info!(session = %name, reason, "session ended");
                    // The session is out of the liveness index already, so lock decisions
                    // treat its locks as free; releasing them now also wakes waiters and
                    // keeps `list_locks` honest.
                    let locks_released = match self.release_locks_of(name, lock_delay_ms).await {
                        Ok(released) => released,
                        Err(e) => {
                            tracing::warn!(
                                session = %name,
                                "ended, but its locks could not be released now ({e}); they are free to take and expire by TTL"
                            );
                            Vec::new()
                        }
                    };
                    self.hand_back_tasks(name, reason).await;
                    self.revoke_child_tokens(name).await;
                    self.events().publish(Event::SessionEnded {
                        session: name.to_string(),
                        parent: ended.record.parent.clone(),
                        reason: reason.to_string(),
                        at_ms: now,
                    });
                    return Ok(Some(EndedSession {
                        entry: *ended,
                        locks_released,
                    }));
                }
                EndOutcome::NotLive | EndOutcome::NotDue => return Ok(None),
                EndOutcome::Changed => {}
            }
        }
        Err(busy("session", name))
    }

    /// `end_session()`: ends the caller's session now.
    pub async fn end_session(&self, caller: &Caller) -> Result<Ended, ServiceError> {
        let name = &caller.session;
        match self
            .end_named(name, "ended by the session (end_session)", None)
            .await?
        {
            Some(EndedSession {
                entry,
                locks_released,
            }) => {
                let now = entry.record.ended_at_ms.unwrap_or(entry.last_seen_ms);
                Ok(Ended {
                    session: self.session_view(&entry, now),
                    locks_released,
                })
            }
            None => Err(ServiceError::not_found(format!(
                "session {name} is not live (never registered, or already ended); nothing to end"
            ))),
        }
    }
}
