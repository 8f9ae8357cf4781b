//! Locks: acquire (with fair waiting), release, extend, check, list, and releasing every
//! lock of an ended session. Each decision is one store operation; this file validates
//! input, waits between attempts, and words the results for a model to act on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::events::{Event, QueueExit};
use super::{Caller, Coordinator, ServiceError};
use crate::domain::lock_name::LockName;
use crate::domain::session_name::truncate;
use crate::domain::tiers::Tier;
use crate::store::locks::{
    AcquireOutcome, AcquireRequest, ExtendOutcome, HeldLock, LockRecord, Refusal, RefusalKind,
    ReleaseOutcome, TakeoverNote, Waiter,
};

/// Longest `reason` accepted.
pub const MAX_REASON: usize = 500;
/// How often a waiter re-checks even without a release event (events can be lost).
pub const RECHECK: Duration = Duration::from_millis(400);
/// A waiter's liveness key lives this long past its last attempt; attempts come every
/// [`RECHECK`], so only a crashed daemon's waiters ever expire.
pub const WAITER_TTL_MS: i64 = 3000;
/// Progress notifications are sent this often while waiting (when the client asked).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// `acquire_lock` arguments, as the front-ends pass them.
#[derive(Debug, Clone, Default)]
pub struct AcquireArgs {
    pub lock_name: String,
    pub timeout_seconds: Option<i64>,
    pub wait_seconds: Option<i64>,
    pub reason: Option<String>,
    pub force: bool,
    pub branch: Option<String>,
}

/// Ties a wait to its caller's connection: a wait ends when the request is cancelled or the
/// connection closes, and progress goes back to the client if it asked for it.
#[derive(Clone, Default)]
pub struct WaitContext {
    /// Cancelled when the request is cancelled or its connection ends.
    pub cancel: CancellationToken,
    /// Is the caller's connection still open? Asked before every attempt and after a grant.
    pub connection_open: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// Called every few seconds while waiting; must not block.
    pub progress: Option<Arc<dyn Fn(WaitProgress) + Send + Sync>>,
}

impl WaitContext {
    fn open(&self) -> bool {
        !self.cancel.is_cancelled() && self.connection_open.as_ref().is_none_or(|f| f())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WaitProgress {
    pub waited_seconds: f64,
    pub wait_seconds: f64,
    pub message: String,
}

/// A granted lock.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Granted {
    pub granted: bool,
    /// Canonical name (`resource:pytest`).
    pub lock: String,
    /// Fencing token: pass it to anything that must not act on a stale holder's behalf.
    pub token: u64,
    pub holder: String,
    /// Store clock, ms since the epoch.
    pub expires_at: i64,
    pub expires_at_utc: String,
    pub expires_in_seconds: i64,
    /// You already held it: the TTL was extended and the token kept.
    pub reentrant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over_from: Option<String>,
    /// Related locks of dead or stale holders that were released for this grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub released_related: Vec<String>,
    /// A lock-delay runs until then: if you release early, nobody else can take it before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    pub waited_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Released {
    pub lock: String,
    /// False when nobody held it (never taken, already released, or expired).
    pub released: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over: Option<TakeoverNote>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Extended {
    pub lock: String,
    pub token: u64,
    pub expires_at: i64,
    pub expires_at_utc: String,
    pub expires_in_seconds: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One lock as `check_lock` and `list_locks` show it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockView {
    pub lock: String,
    pub holder: String,
    /// `active`, `idle`, `stale`, `abandoned`, or `ended` (not a live session: the lock is free to take).
    pub holder_tier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_last_seen_ms_ago: Option<i64>,
    pub token: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub acquired_at: i64,
    pub expires_at: i64,
    pub expires_at_utc: String,
    pub expires_in_seconds: i64,
    pub is_mine: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockCheck {
    pub lock: String,
    /// No one holds it (a lock-delay or queued waiters may still stand before you).
    pub free: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<LockView>,
    pub waiters: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
    /// Set when a lock you held was taken over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over: Option<TakeoverNote>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockList {
    pub pattern: String,
    pub count: usize,
    pub locks: Vec<LockView>,
}

impl Coordinator {
    /// Parses a lock name. `work` resolves from the `branch` argument, else from the branch
    /// the caller's session registered (register_session(branch=…) or the SessionStart hook).
    async fn lock_name(
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
    fn ttl_ms(
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
        args: AcquireArgs,
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
        let reason = args.reason.filter(|r| !r.is_empty());
        if let Some(r) = &reason {
            if r.chars().count() > MAX_REASON {
                return Err(ServiceError::invalid(format!(
                    "reason is {} characters long; the limit is {MAX_REASON}",
                    r.chars().count()
                )));
            }
            if r.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(ServiceError::invalid(
                    "reason contains control characters; use plain text",
                ));
            }
        }
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
            lock_delay_ms: (self.settings().locks.lock_delay_seconds as i64) * 1000,
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

    /// Releases a lock the caller holds.
    pub async fn release_lock(
        &self,
        caller: &Caller,
        lock_name: &str,
        branch: Option<&str>,
    ) -> Result<Released, ServiceError> {
        let name = self.lock_name(caller, lock_name, branch).await?;
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
            } => Err(not_owner(&name, "release", &holder, note.as_ref(), now_ms)),
        }
    }

    /// Renews a lock the caller holds: it now expires `timeout_seconds` from now.
    pub async fn extend_lock(
        &self,
        caller: &Caller,
        lock_name: &str,
        timeout_seconds: Option<i64>,
        branch: Option<&str>,
    ) -> Result<Extended, ServiceError> {
        let name = self.lock_name(caller, lock_name, branch).await?;
        let mut warnings = Vec::new();
        let ttl_ms = self.ttl_ms(timeout_seconds, &mut warnings)?;
        match self
            .store()
            .extend(name.as_str(), &caller.session, ttl_ms, self.tiers())
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
            } => Err(not_owner(&name, "extend", &holder, note.as_ref(), now_ms)),
        }
    }

    pub async fn check_lock(
        &self,
        caller: &Caller,
        lock_name: &str,
        branch: Option<&str>,
    ) -> Result<LockCheck, ServiceError> {
        let name = self.lock_name(caller, lock_name, branch).await?;
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

    /// Held locks whose canonical name matches `pattern` (a glob; bare-resource patterns such
    /// as `py*` also match `resource:` locks by their bare name).
    pub async fn list_locks(
        &self,
        caller: &Caller,
        pattern: Option<&str>,
    ) -> Result<LockList, ServiceError> {
        let pattern = pattern.filter(|p| !p.is_empty()).unwrap_or("*");
        if pattern.len() > 200 || pattern.chars().any(|c| c.is_control()) {
            return Err(ServiceError::invalid(format!(
                "pattern {:?} is not usable: up to 200 printable characters, a glob such as * or resource:* or wave:5c*",
                truncate(pattern, 40)
            )));
        }
        let glob = glob::Pattern::new(pattern).map_err(|e| {
            ServiceError::invalid(format!(
                "pattern {:?} is not a glob ({e}); use * ? and [abc], e.g. wave:5c* or *",
                truncate(pattern, 40)
            ))
        })?;
        let listing = self.store().list(self.tiers()).await?;
        let locks: Vec<LockView> = listing
            .locks
            .iter()
            .filter(|h| {
                let n = &h.lock.name;
                glob.matches(n)
                    || n.strip_prefix("resource:")
                        .is_some_and(|bare| glob.matches(bare))
            })
            .map(|h| lock_view(h, caller, listing.now_ms))
            .collect();
        Ok(LockList {
            pattern: pattern.to_string(),
            count: locks.len(),
            locks,
        })
    }

    /// Events for a grant, and the takeover note into the old holder's inbox (a system
    /// `info` message; it stays readable through check_lock as well).
    async fn after_grant(&self, name: &LockName, g: &crate::store::locks::Grant) {
        for r in &g.released_related {
            self.events().publish(Event::LockReleased {
                lock: r.lock.name.clone(),
                holder: r.lock.holder.clone(),
                at_ms: g.now_ms,
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

    /// Releases every lock `session` holds (called when a session ends or is reaped).
    pub async fn release_locks_of(&self, session: &str) -> Result<Vec<String>, ServiceError> {
        let released = self.store().release_all_held_by(session).await?;
        if !released.is_empty() {
            tracing::info!(session, locks = ?released, "released the locks of an ended session");
            let at_ms = self.store().now_ms().await.unwrap_or_default();
            for lock in &released {
                self.events().publish(Event::LockReleased {
                    lock: lock.clone(),
                    holder: session.to_string(),
                    at_ms,
                });
            }
        }
        Ok(released)
    }

    fn refusal_error(
        &self,
        name: &LockName,
        caller: &Caller,
        r: &Refusal,
        waited: i64,
        warnings: Vec<String>,
    ) -> ServiceError {
        let now = r.now_ms;
        let retry_wait = suggested_wait(r, now);
        let waited_note = if waited > 0 {
            format!(
                " Waited {waited} s; you were number {} of {} in the queue.",
                r.queue_position.unwrap_or(0),
                r.queue_length
            )
        } else {
            String::new()
        };
        let (code, mut message) = match (r.refusal, &r.holder) {
            (RefusalKind::Held | RefusalKind::Related, Some(h)) => {
                let what = match (&r.related_lock, r.refusal) {
                    (Some(rel), RefusalKind::Related) => format!(
                        "{name} conflicts with {rel} (a lock conflicts with its ancestors and descendants), which"
                    ),
                    _ => name.to_string(),
                };
                let age = h.holder_age_ms.map(human_ms).unwrap_or_default();
                let tier = h.tier.map(Tier::as_str).unwrap_or("ended");
                let mut m = format!(
                    "{what} is held by {} ({tier}, last active {age} ago) until {}.",
                    h.lock.holder,
                    utc_time(h.lock.expires_at)
                );
                match h.tier {
                    Some(Tier::Idle) => m.push_str(&format!(
                        " Warning: {} has been idle for {age}; it becomes stale (force=true can take the lock over) after {} of silence.",
                        h.lock.holder,
                        human_ms(self.tiers().idle_ms)
                    )),
                    Some(Tier::Stale) => m.push_str(&format!(
                        " {} is stale (silent for {age}): acquire again with force=true to take the lock over (it will be told).",
                        h.lock.holder
                    )),
                    _ => {}
                }
                m.push_str(&format!(
                    " Retry with wait_seconds={retry_wait} to queue for it, or ask {} to release it.",
                    h.lock.holder
                ));
                ("conflict", m)
            }
            (RefusalKind::LockDelay, _) => (
                "lock_delay",
                format!(
                    "{name} was just taken over from a stale or dead holder; for a lock-delay until {} only {} may take it (so a paused old holder cannot overlap the next). Retry with wait_seconds={retry_wait}.",
                    r.delay_until.map(utc_time).unwrap_or_default(),
                    r.reserved_for.as_deref().unwrap_or("the new holder")
                ),
            ),
            _ => (
                "conflict",
                format!(
                    "{name} is free, but {} waiter(s) are queued for it ahead of you (first come, first served). Retry with wait_seconds={retry_wait} to join the queue.",
                    r.queue_position
                        .map_or(r.queue_length, |p| p.saturating_sub(1))
                ),
            ),
        };
        message.push_str(&waited_note);
        for w in &warnings {
            message.push_str(&format!(" Note: {w}."));
        }
        let h = r.holder.as_ref();
        let mut details = json!({
            "lock": name.as_str(),
            "refusal": r.refusal,
            "queue_length": r.queue_length,
            "suggested_wait_seconds": retry_wait,
        });
        let obj = details.as_object_mut().expect("a JSON object");
        if let Some(h) = h {
            obj.insert("holder".into(), json!(h.lock.holder));
            obj.insert(
                "holder_tier".into(),
                json!(h.tier.map(Tier::as_str).unwrap_or("ended")),
            );
            obj.insert("holder_last_seen_ms_ago".into(), json!(h.holder_age_ms));
            obj.insert("holder_token".into(), json!(h.lock.token));
            obj.insert("expires_at".into(), json!(h.lock.expires_at));
            obj.insert(
                "expires_in_seconds".into(),
                json!(secs_until(h.lock.expires_at, now)),
            );
            obj.insert("is_mine".into(), json!(h.lock.holder == caller.session));
        }
        if let Some(rel) = &r.related_lock {
            obj.insert("related_lock".into(), json!(rel));
        }
        if let Some(p) = r.queue_position {
            obj.insert("queue_position".into(), json!(p));
        }
        if let Some(d) = r.delay_until {
            obj.insert("lock_delay_until".into(), json!(d));
            obj.insert("reserved_for".into(), json!(r.reserved_for));
        }
        if waited > 0 {
            obj.insert("waited_seconds".into(), json!(waited));
        }
        ServiceError::new(code, message).with_details(details)
    }
}

/// Leaves the queue on every exit path that did not end in a grant, including the future
/// being dropped (request cancelled, client gone): the drop spawns the removal. Once the
/// wait was announced (`lock_queued`), every exit announces `lock_queue_left` with why.
struct QueueGuard {
    store: Option<Arc<dyn crate::store::Store>>,
    name: String,
    session: String,
    waiter: Option<String>,
    /// Set by [`QueueGuard::announce`]: the channel to announce the exit on, and the store
    /// clock at the last attempt (with when that was, to date an exit by drop).
    announced: Option<(super::Events, i64, Instant)>,
}

impl QueueGuard {
    fn new(coord: &Coordinator, req: &AcquireRequest) -> Self {
        Self {
            store: Some(coord.store().clone()),
            name: req.name.clone(),
            session: req.session.clone(),
            waiter: req.waiter.as_ref().map(|w| w.id.clone()),
            announced: None,
        }
    }

    /// Publishes `lock_queued` the first time the caller is seen in the queue.
    fn announce(&mut self, events: &super::Events, position: u32, now_ms: i64) {
        if self.waiter.is_none() {
            return;
        }
        match &mut self.announced {
            Some((_, at, seen)) => (*at, *seen) = (now_ms, Instant::now()),
            None => {
                events.publish(Event::LockQueued {
                    lock: self.name.clone(),
                    session: self.session.clone(),
                    position,
                    at_ms: now_ms,
                });
                self.announced = Some((events.clone(), now_ms, Instant::now()));
            }
        }
    }

    fn announce_exit(&mut self, outcome: QueueExit, at_ms: Option<i64>) {
        if let Some((events, last, seen)) = self.announced.take() {
            events.publish(Event::LockQueueLeft {
                lock: self.name.clone(),
                session: self.session.clone(),
                outcome,
                at_ms: at_ms.unwrap_or(last + seen.elapsed().as_millis() as i64),
            });
        }
    }

    /// Granted: the store took the waiter out of the queue itself.
    fn disarm(&mut self, now_ms: i64) {
        self.waiter = None;
        self.announce_exit(QueueExit::Granted, Some(now_ms));
    }

    async fn leave(&mut self, now_ms: i64) {
        self.announce_exit(QueueExit::TimedOut, Some(now_ms));
        if let (Some(store), Some(w)) = (&self.store, self.waiter.take())
            && let Err(e) = store.leave_queue(&self.name, &w).await
        {
            tracing::warn!("cannot leave the queue of {}: {e}", self.name);
        }
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        self.announce_exit(QueueExit::Cancelled, None);
        let (Some(store), Some(w)) = (self.store.take(), self.waiter.take()) else {
            return;
        };
        let name = std::mem::take(&mut self.name);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.leave_queue(&name, &w).await {
                    tracing::warn!("cannot leave the queue of {name}: {e}");
                }
            });
        }
    }
}

/// Sleeps until a related lock is released, `until`, or cancellation — whichever is first.
async fn wait_for_release(
    events: &mut tokio::sync::broadcast::Receiver<String>,
    name: &LockName,
    until: Instant,
    cancel: &CancellationToken,
) {
    let sleep = tokio::time::sleep_until(until.into());
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            _ = cancel.cancelled() => return,
            ev = events.recv() => match ev {
                Ok(released) if name.is_related(&released) => return,
                Ok(_) => {}
                // Lagged: something may have been released; closed: fall back to the timer.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    sleep.as_mut().await;
                    return;
                }
            }
        }
    }
}

fn granted(g: crate::store::locks::Grant, waited: Duration, mut warnings: Vec<String>) -> Granted {
    let lock: &LockRecord = &g.lock;
    if let Some(t) = &g.taken_over_from {
        warnings.push(format!(
            "took {} over from {} ({}); it has been told. Its token {} is now stale: anything that checks fencing tokens will refuse it",
            lock.name,
            t.lock.holder,
            t.tier.map(Tier::as_str).unwrap_or("ended"),
            t.lock.token
        ));
    }
    Granted {
        granted: true,
        lock: lock.name.clone(),
        token: lock.token,
        holder: lock.holder.clone(),
        expires_at: lock.expires_at,
        expires_at_utc: utc_time(lock.expires_at),
        expires_in_seconds: secs_until(lock.expires_at, g.now_ms),
        reentrant: g.reentrant,
        taken_over_from: g.taken_over_from.as_ref().map(|t| t.lock.holder.clone()),
        released_related: g
            .released_related
            .iter()
            .map(|r| r.lock.name.clone())
            .collect(),
        lock_delay_until: g.delay_until,
        waited_ms: waited.as_millis() as u64,
        warnings,
    }
}

fn lock_view(h: &HeldLock, caller: &Caller, now: i64) -> LockView {
    LockView {
        lock: h.lock.name.clone(),
        holder: h.lock.holder.clone(),
        holder_tier: h.tier.map(Tier::as_str).unwrap_or("ended").to_string(),
        holder_last_seen_ms_ago: h.holder_age_ms,
        token: h.lock.token,
        reason: h.lock.reason.clone(),
        acquired_at: h.lock.acquired_at,
        expires_at: h.lock.expires_at,
        expires_at_utc: utc_time(h.lock.expires_at),
        expires_in_seconds: secs_until(h.lock.expires_at, now),
        is_mine: h.lock.holder == caller.session,
    }
}

fn not_owner(
    name: &LockName,
    verb: &str,
    h: &HeldLock,
    note: Option<&TakeoverNote>,
    now: i64,
) -> ServiceError {
    let mut message = format!(
        "you cannot {verb} {name}: it is held by {} (not you) until {}; only the holder may {verb} it.",
        h.lock.holder,
        utc_time(h.lock.expires_at)
    );
    if let Some(n) = note {
        message.push(' ');
        message.push_str(&taken_over_sentence(name, n, now));
    }
    ServiceError::new("not_owner", message).with_details(json!({
        "lock": name.as_str(),
        "holder": h.lock.holder,
        "holder_tier": h.tier.map(Tier::as_str).unwrap_or("ended"),
        "expires_at": h.lock.expires_at,
        "expires_in_seconds": secs_until(h.lock.expires_at, now),
        "taken_over": note,
    }))
}

fn taken_over_sentence(name: &LockName, n: &TakeoverNote, now: i64) -> String {
    format!(
        "your hold on {name} (token {}) was taken over by {} at {} ({} ago) because you were {}; stop work that relied on it, and acquire it again if you still need it",
        n.old_token,
        n.by,
        utc_time(n.at),
        human_ms(now - n.at),
        n.your_tier
            .map(Tier::as_str)
            .unwrap_or("not a live session")
    )
}

/// A wait that would likely be enough: until the holder's expiry (capped at 10 min) or the
/// lock-delay's end, at least 30 s.
fn suggested_wait(r: &Refusal, now: i64) -> i64 {
    let until = r
        .holder
        .as_ref()
        .map(|h| h.lock.expires_at)
        .or(r.delay_until)
        .unwrap_or(now);
    secs_until(until, now).clamp(30, 600)
}

fn secs_until(at_ms: i64, now_ms: i64) -> i64 {
    ((at_ms - now_ms).max(0) + 999) / 1000
}

/// `14:02:11 UTC` for a store timestamp.
pub fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `12 s`, `5 min`, `3 h 10 min`.
pub fn human_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else {
        format!("{} h {} min", s / 3600, (s / 60) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(utc_time(0), "00:00:00 UTC");
        assert_eq!(
            utc_time((14 * 3600 + 2 * 60 + 11) * 1000 + 999),
            "14:02:11 UTC"
        );
        assert_eq!(human_ms(12_400), "12 s");
        assert_eq!(human_ms(5 * 60_000), "5 min");
        assert_eq!(human_ms(3 * 3_600_000 + 600_000), "3 h 10 min");
        assert_eq!(secs_until(1500, 1000), 1);
        assert_eq!(secs_until(0, 1000), 0);
    }
}
