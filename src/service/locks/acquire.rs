//! `acquire_lock`: validates the request, then tries the store's one atomic decision until
//! granted, refused past the wait, or cancelled, waking on releases of related locks.

use std::time::{Duration, Instant};

use super::wait::{QueueGuard, wait_for_release};
use super::wording::{granted, taken_over_sentence};
use super::{
    AcquireLockArgs, Granted, PROGRESS_EVERY, RECHECK, WAITER_TTL_MS, WaitContext, WaitProgress,
};
use crate::domain::lock_name::LockName;
use crate::service::audit::{self, AuditRecord};
use crate::service::events::Event;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::locks::{AcquireOutcome, AcquireRequest, RefusalKind, TakeoverNote, Waiter};

impl Coordinator {
    /// Parses a lock name. `work` resolves from the `branch` argument, else from the branch
    /// the caller's session registered (register_session(branch=…) or the SessionStart hook).
    pub(crate) async fn lock_name(
        &self,
        caller: &Caller,
        input: &str,
        branch: Option<&str>,
    ) -> Result<LockName, ServiceError> {
        let registered;
        let branch = match branch.filter(|b| !b.is_empty()) {
            Some(b) => Some(b),
            None if input == "work" => {
                registered = self
                    .store()
                    .get_session(&caller.session)
                    .await?
                    .filter(|e| e.live)
                    .and_then(|e| e.record.branch);
                registered.as_deref()
            }
            None => None,
        };
        LockName::parse(input, branch).map_err(|e| {
            if input == "work" {
                ServiceError::invalid(format!(
                    "{e}; or register it once with register_session(branch=\"…\") so every \
                     later \"work\" lock of session {} resolves by itself",
                    caller.session
                ))
            } else {
                ServiceError::invalid(e)
            }
        })
    }

    /// Seconds → ms within `1..=max`; above the max is clamped (with a warning), zero and
    /// negative are refused.
    pub(crate) fn ttl_ms(
        &self,
        seconds: Option<i64>,
        warnings: &mut Vec<String>,
    ) -> Result<i64, ServiceError> {
        let max = self.settings().locks.max_timeout_seconds as i64;
        let asked = seconds.unwrap_or(self.settings().locks.default_timeout_seconds as i64);
        if asked <= 0 {
            return Err(ServiceError::invalid(format!(
                "timeout_seconds must be at least 1 (got {asked}); it is how long the lock lives \
                 unless extended; allowed 1 to {max} (default {})",
                self.settings().locks.default_timeout_seconds
            )));
        }
        if asked > max {
            warnings.push(format!(
                "timeout_seconds {asked} is above the maximum; clamped to {max} (locks.max_timeout_seconds); use extend_lock to keep it longer"
            ));
            return Ok(max * 1000);
        }
        Ok(asked * 1000)
    }

    /// Acquires `args.lock_name` for `caller`, waiting up to `wait_seconds` in FIFO order.
    pub async fn acquire_lock(
        &self,
        caller: &Caller,
        args: AcquireLockArgs,
        wait: WaitContext,
    ) -> Result<Granted, ServiceError> {
        let name = self
            .lock_name(caller, &args.lock_name, args.branch.as_deref())
            .await?;
        let mut warnings = Vec::new();
        let ttl_ms = self.ttl_ms(args.timeout_seconds, &mut warnings)?;
        let max_wait = self.settings().locks.max_wait_seconds as i64;
        let wait_seconds = match args.wait_seconds.unwrap_or(0) {
            w if w < 0 => {
                return Err(ServiceError::invalid(format!(
                    "wait_seconds must be 0 (do not wait) to {max_wait}; got {w}"
                )));
            }
            w if w > max_wait => {
                warnings.push(format!(
                    "wait_seconds {w} is above the maximum; clamped to {max_wait} (locks.max_wait_seconds)"
                ));
                max_wait
            }
            w => w,
        };
        let reason = super::check_reason(args.reason)?;
        let waiter = (wait_seconds > 0).then(|| Waiter {
            id: uuid::Uuid::new_v4().simple().to_string(),
            ttl_ms: WAITER_TTL_MS,
        });
        let req = AcquireRequest {
            name: name.as_str().to_string(),
            ancestors: name.ancestors(),
            descendant_prefix: name.descendant_prefix(),
            session: caller.session.clone(),
            ttl_ms,
            reason,
            force: args.force,
            tiers: self.tiers(),
            lock_delay_ms: self.lock_delay_ms(),
            waiter,
        };
        let started = Instant::now();
        let deadline = started + Duration::from_secs(wait_seconds as u64);
        // Subscribe before the first attempt, so a release in between is not missed.
        let mut events = self.store().lock_events();
        let mut queued = QueueGuard::new(self, &req);
        let mut next_progress = started + PROGRESS_EVERY;
        let _waiting = (wait_seconds > 0).then(|| self.metrics().lock_wait_started());

        loop {
            if !wait.open() {
                return Err(ServiceError::new(
                    "cancelled",
                    format!(
                        "waiting for {name} ended: the request was cancelled or the connection closed"
                    ),
                ));
            }
            match self.store().acquire(&req).await? {
                AcquireOutcome::Granted(g) => {
                    queued.disarm(g.now_ms);
                    if !wait.open() {
                        // Nobody is left to use it: give it straight back.
                        let _ = self
                            .store()
                            .release(&req.name, &req.session, self.tiers())
                            .await;
                        return Err(ServiceError::new(
                            "cancelled",
                            format!(
                                "{name} was granted after the request was cancelled; released again"
                            ),
                        ));
                    }
                    self.metrics().lock_granted();
                    if g.taken_over_from.is_some() {
                        self.metrics().lock_taken_over();
                    }
                    self.after_grant(&name, &g).await;
                    return Ok(granted(g, started.elapsed(), warnings));
                }
                AcquireOutcome::Refused(r) => {
                    if let Some(position) = r.queue_position {
                        queued.announce(self.events(), position, r.now_ms);
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        queued.leave(r.now_ms).await;
                        self.metrics().lock_refused();
                        let refused = AuditRecord::of("lock_refused", audit::REFUSED)
                            .session(&caller.session)
                            .lock(name.as_str())
                            .detail(refusal_word(r.refusal));
                        self.audit().record(match &r.holder {
                            Some(h) => refused.target(&h.lock.holder),
                            None => refused,
                        });
                        return Err(self.refusal_error(&name, caller, &r, wait_seconds, warnings));
                    }
                    if now >= next_progress {
                        next_progress = now + PROGRESS_EVERY;
                        if let Some(p) = &wait.progress {
                            p(WaitProgress {
                                waited_seconds: started.elapsed().as_secs_f64(),
                                wait_seconds: wait_seconds as f64,
                                message: format!(
                                    "waiting for {name}: position {} of {}",
                                    r.queue_position.unwrap_or(0),
                                    r.queue_length
                                ),
                            });
                        }
                    }
                    let until = deadline.min(now + RECHECK).min(next_progress);
                    wait_for_release(&mut events, &name, until, &wait.cancel).await;
                }
            }
        }
    }

    /// Events for a grant, and the takeover note into the old holder's inbox (a system
    /// `info` message; it stays readable through check_lock as well).
    pub(crate) async fn after_grant(&self, name: &LockName, g: &crate::store::locks::Grant) {
        for r in &g.released_related {
            self.events().publish(Event::LockReleased {
                lock: r.lock.name.clone(),
                holder: r.lock.holder.clone(),
                at_ms: g.now_ms,
                lock_delay_until: None,
                forced_by: None,
            });
        }
        let lock = &g.lock;
        match &g.taken_over_from {
            Some(old) => {
                self.events().publish(Event::LockTakenOver {
                    lock: lock.name.clone(),
                    holder: lock.holder.clone(),
                    from: old.lock.holder.clone(),
                    token: lock.token,
                    at_ms: g.now_ms,
                    expires_at: Some(lock.expires_at),
                    reason: lock.reason.clone(),
                    lock_delay_until: g.delay_until,
                });
                let note = TakeoverNote {
                    lock: lock.name.clone(),
                    by: lock.holder.clone(),
                    at: g.now_ms,
                    old_token: old.lock.token,
                    your_tier: old.tier,
                    forced: false,
                };
                let body = taken_over_sentence(name, &note, g.now_ms);
                if let Err(e) = self.send_system_message(&old.lock.holder, body).await {
                    tracing::debug!(holder = %old.lock.holder, "takeover note not delivered: {e}");
                }
            }
            None if !g.reentrant => self.events().publish(Event::LockGranted {
                lock: lock.name.clone(),
                holder: lock.holder.clone(),
                token: lock.token,
                at_ms: g.now_ms,
                expires_at: Some(lock.expires_at),
                reason: lock.reason.clone(),
            }),
            None => self.events().publish(Event::LockExtended {
                lock: lock.name.clone(),
                holder: lock.holder.clone(),
                token: lock.token,
                expires_at: lock.expires_at,
                at_ms: g.now_ms,
            }),
        }
    }
}

/// The audit word for a refusal.
fn refusal_word(kind: RefusalKind) -> &'static str {
    match kind {
        RefusalKind::Held => "held",
        RefusalKind::Related => "related_held",
        RefusalKind::LockDelay => "lock_delay",
        RefusalKind::Queued => "queued",
        RefusalKind::StoreRecovering => "store_recovering",
    }
}
