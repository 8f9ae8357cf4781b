//! The lock use-cases that do not wait: release, extend, check, and releasing every lock of
//! an ended session (listing is `listing.rs`).

use serde_json::json;

use super::wording::{lock_view, not_owner, taken_over_sentence};
use super::{ExtendLockArgs, Extended, LockCheck, LockNameArgs, Released};
use crate::service::audit::{self, AuditRecord};
use crate::service::events::Event;
use crate::service::human_time::{secs_until, utc_time};
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::locks::{ExtendOutcome, ExtendRequest, ReleaseOutcome};

impl Coordinator {
    /// Releases a lock the caller holds.
    pub async fn release_lock(
        &self,
        caller: &Caller,
        args: &LockNameArgs,
    ) -> Result<Released, ServiceError> {
        let name = self
            .lock_name(caller, &args.lock_name, args.branch.as_deref())
            .await?;
        match self
            .store()
            .release(name.as_str(), &caller.session, self.tiers())
            .await?
        {
            ReleaseOutcome::Released { lock, now_ms } => {
                self.events().publish(Event::LockReleased {
                    lock: lock.name.clone(),
                    holder: lock.holder.clone(),
                    at_ms: now_ms,
                    lock_delay_until: None,
                    forced_by: None,
                });
                Ok(Released {
                    lock: lock.name,
                    released: true,
                    message: format!("released {name} (token {})", lock.token),
                    taken_over: None,
                })
            }
            ReleaseOutcome::NotHeld { note, now_ms } => Ok(Released {
                lock: name.to_string(),
                released: false,
                message: match &note {
                    Some(n) => taken_over_sentence(&name, n, now_ms),
                    None => format!(
                        "{name} was not held (never taken, already released, or expired); nothing to do"
                    ),
                },
                taken_over: note,
            }),
            ReleaseOutcome::NotOwner {
                holder,
                note,
                now_ms,
            } => {
                self.audit().record(
                    AuditRecord::of("release_refused", audit::REFUSED)
                        .session(&caller.session)
                        .lock(name.as_str())
                        .target(&holder.lock.holder)
                        .detail("not_owner"),
                );
                Err(not_owner(&name, "release", &holder, note.as_ref(), now_ms))
            }
        }
    }

    /// Renews a lock the caller holds: it now expires `timeout_seconds` from now.
    pub async fn extend_lock(
        &self,
        caller: &Caller,
        args: &ExtendLockArgs,
    ) -> Result<Extended, ServiceError> {
        let name = self
            .lock_name(caller, &args.lock_name, args.branch.as_deref())
            .await?;
        let mut warnings = Vec::new();
        let ttl_ms = self.ttl_ms(args.timeout_seconds, &mut warnings)?;
        match self
            .store()
            .extend(&ExtendRequest {
                name: name.as_str().to_string(),
                session: caller.session.clone(),
                ttl_ms,
                tiers: self.tiers(),
            })
            .await?
        {
            ExtendOutcome::Extended { lock, now_ms } => {
                self.events().publish(Event::LockExtended {
                    lock: lock.name.clone(),
                    holder: lock.holder.clone(),
                    token: lock.token,
                    expires_at: lock.expires_at,
                    at_ms: now_ms,
                });
                Ok(Extended {
                    lock: lock.name,
                    token: lock.token,
                    expires_at: lock.expires_at,
                    expires_at_utc: utc_time(lock.expires_at),
                    expires_in_seconds: secs_until(lock.expires_at, now_ms),
                    warnings,
                })
            }
            ExtendOutcome::NotHeld { note, now_ms } => {
                let message = match &note {
                    Some(n) => taken_over_sentence(&name, n, now_ms),
                    None => format!(
                        "you do not hold {name} (it expired or was released); acquire_lock(\"{name}\") to take it again"
                    ),
                };
                Err(ServiceError::new("not_held", message)
                    .with_details(json!({ "lock": name.as_str(), "taken_over": note })))
            }
            ExtendOutcome::NotOwner {
                holder,
                note,
                now_ms,
            } => {
                self.audit().record(
                    AuditRecord::of("extend_refused", audit::REFUSED)
                        .session(&caller.session)
                        .lock(name.as_str())
                        .target(&holder.lock.holder)
                        .detail("not_owner"),
                );
                Err(not_owner(&name, "extend", &holder, note.as_ref(), now_ms))
            }
        }
    }

    pub async fn check_lock(
        &self,
        caller: &Caller,
        args: &LockNameArgs,
    ) -> Result<LockCheck, ServiceError> {
        let name = self
            .lock_name(caller, &args.lock_name, args.branch.as_deref())
            .await?;
        let s = self
            .store()
            .check(name.as_str(), &caller.session, self.tiers())
            .await?;
        let held = s.held.as_ref().map(|h| lock_view(h, caller, s.now_ms));
        let message = match (&held, &s.note) {
            (_, Some(n)) => taken_over_sentence(&name, n, s.now_ms),
            (Some(h), _) if h.is_mine => format!(
                "you hold {name} (token {}) until {}",
                h.token, h.expires_at_utc
            ),
            (Some(h), _) => format!(
                "{name} is held by {} ({}) until {}",
                h.holder, h.holder_tier, h.expires_at_utc
            ),
            (None, _) => match (&s.reserved_for, s.delay_until) {
                (Some(r), Some(until)) if *r != caller.session => format!(
                    "{name} is free, but a lock-delay reserves it for {r} until {}",
                    utc_time(until)
                ),
                (None, Some(until)) => format!(
                    "{name} is free, but a lock-delay after a force-release keeps it from everyone until {} (then its waiters get it in order)",
                    utc_time(until)
                ),
                _ if s.waiters > 0 => format!("{name} is free; {} waiter(s) queued", s.waiters),
                _ => format!("{name} is free"),
            },
        };
        Ok(LockCheck {
            lock: name.to_string(),
            free: held.is_none(),
            held,
            waiters: s.waiters,
            lock_delay_until: s.delay_until,
            reserved_for: s.reserved_for,
            taken_over: s.note,
            message,
        })
    }

    /// Releases every lock `session` holds (called when a session ends or is reaped); with
    /// `lock_delay_ms` > 0 (an admin ended it) nobody gets them until the delay ends.
    pub async fn release_locks_of(
        &self,
        session: &str,
        lock_delay_ms: i64,
    ) -> Result<Vec<String>, ServiceError> {
        let released = self
            .store()
            .release_all_held_by(session, lock_delay_ms)
            .await?;
        if !released.is_empty() {
            tracing::info!(session, locks = ?released, "released the locks of an ended session");
            let at_ms = self.store().now_ms().await.unwrap_or_default();
            // The store started the delay at its own now; this is that now, read just after.
            let lock_delay_until = (lock_delay_ms > 0 && at_ms > 0).then(|| at_ms + lock_delay_ms);
            for lock in &released {
                self.events().publish(Event::LockReleased {
                    lock: lock.clone(),
                    holder: session.to_string(),
                    at_ms,
                    lock_delay_until,
                    forced_by: None,
                });
            }
        }
        Ok(released)
    }
}
