//! Lock results and refusals worded for a model: who holds it, how active the holder is,
//! when it expires, and what to do next (wait, force, ask the holder).

use std::time::Duration;

use serde_json::json;

use super::{Granted, LockView};
use crate::domain::lock_name::LockName;
use crate::domain::tiers::Tier;
use crate::service::human_time::{human_ms, secs_until, utc_time};
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::locks::{HeldLock, LockRecord, Refusal, RefusalKind, TakeoverNote};

impl Coordinator {
    pub(crate) fn refusal_error(
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
            (RefusalKind::StoreRecovering, _) => {
                let until = r.delay_until.unwrap_or(now);
                (
                    "store_recovering",
                    format!(
                        "No lock is granted until {} ({} from now): {}. Sessions that held \
                         locks before may still be working under them. Retry then, or, once \
                         every session from before the loss is known to be gone, an admin can \
                         resume grants now with `mcp-coord resume-grants`.",
                        utc_time(until),
                        human_ms(until - now),
                        r.hold_reason
                            .as_deref()
                            .unwrap_or("the store lost its data")
                    ),
                )
            }
            (RefusalKind::LockDelay, _) if r.reserved_for.is_none() => (
                "lock_delay",
                format!(
                    "{name} was just force-released by an admin; for a lock-delay until {} nobody may take it (so the old holder has time to stop). Retry with wait_seconds={retry_wait}: waiters get it in order when the delay ends.",
                    r.delay_until.map(utc_time).unwrap_or_default()
                ),
            ),
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
        match (r.refusal, r.delay_until) {
            (RefusalKind::StoreRecovering, Some(d)) => {
                obj.insert("grants_held_until".into(), json!(d));
                obj.insert("hold_reason".into(), json!(r.hold_reason));
            }
            (_, Some(d)) => {
                obj.insert("lock_delay_until".into(), json!(d));
                obj.insert("reserved_for".into(), json!(r.reserved_for));
            }
            _ => {}
        }
        if waited > 0 {
            obj.insert("waited_seconds".into(), json!(waited));
        }
        ServiceError::new(code, message).with_details(details)
    }
}

pub(super) fn granted(
    g: crate::store::locks::Grant,
    waited: Duration,
    mut warnings: Vec<String>,
) -> Granted {
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

pub(super) fn lock_view(h: &HeldLock, caller: &Caller, now: i64) -> LockView {
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
        waiters: None,
    }
}

pub(super) fn not_owner(
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

pub(crate) fn taken_over_sentence(
    name: &impl std::fmt::Display,
    n: &TakeoverNote,
    now: i64,
) -> String {
    if n.forced {
        return format!(
            "your hold on {name} (token {}) was force-released by {} at {} ({} ago); stop work \
             that relied on it, and acquire it again if you still need it (after a short lock-delay)",
            n.old_token,
            n.by,
            utc_time(n.at),
            human_ms(now - n.at),
        );
    }
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
pub(super) fn suggested_wait(r: &Refusal, now: i64) -> i64 {
    let until = r
        .holder
        .as_ref()
        .map(|h| h.lock.expires_at)
        .or(r.delay_until)
        .unwrap_or(now);
    secs_until(until, now).clamp(30, 600)
}
