//! The locks part of the store trait, and the records both stores return.
//!
//! Every decision (grant, refusal, takeover, release, extend) is one atomic store operation:
//! one Lua script in Redis, one `with_state` in the embedded store. The service layer turns
//! the outcomes below into results and messages; it never reads-then-writes across calls.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::tiers::{Tier, TierThresholds};

/// A held lock, as stored (`GET claude:locks:resource:pytest` shows this JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockRecord {
    /// Canonical name (`resource:pytest`).
    pub name: String,
    /// The session holding it.
    pub holder: String,
    /// Fencing token: strictly increasing over every grant of this lock, ever — even when
    /// the store lost its counters (see [`next_fencing_token`]).
    pub token: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Store clock (ms since the epoch) of the grant; kept across re-entrant acquires.
    pub acquired_at: i64,
    /// Store clock (ms) at which the store drops the lock unless extended.
    pub expires_at: i64,
}

/// Fencing tokens carry the store clock in their high part: `token = now_ms × 2^5` at
/// least, so a store that forgot its counters (Redis restarted without persistence, an
/// old backup restored, a wiped embedded file) still grants tokens above every token it
/// granted before — as long as its clock is past the clock of those grants (see the
/// README's fencing argument for the bounds).
pub const FENCE_CLOCK_BITS: u32 = 5;

/// The token of the next grant of a lock whose last token was `last` (0 if none is
/// known), at store time `now_ms`: `max(last + 1, now_ms × 2^FENCE_CLOCK_BITS)`. Up to
/// 1024 grants per millisecond per lock stay on the clock; more run ahead of it and are
/// still strictly increasing. Below 2^53 (a JSON-safe integer) until the year 2248.
/// `acquire.lua` computes the same.
pub fn next_fencing_token(last: u64, now_ms: i64) -> u64 {
    let on_clock = (now_ms.max(0) as u64) << FENCE_CLOCK_BITS;
    last.saturating_add(1).max(on_clock)
}

/// Takeover notes are kept this long for the old holder to be told (both stores).
pub const NOTE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// A lock together with what the store knows of its holder's liveness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLock {
    pub lock: LockRecord,
    /// Milliseconds since the holder's last activity; `None` when the holder is not in the
    /// live-session index (ended, or never seen).
    #[serde(default)]
    pub holder_age_ms: Option<i64>,
    /// The holder's tier; `None` when the holder is not in the live-session index.
    #[serde(default)]
    pub tier: Option<Tier>,
}

/// Left for a holder whose lock was taken over, so it can be told (by its next
/// `check_lock` / `release_lock` / `extend_lock`, or by the messages capability).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TakeoverNote {
    pub lock: String,
    /// The session that took it.
    pub by: String,
    /// Store clock (ms) of the takeover.
    pub at: i64,
    /// Your token, now fenced off.
    pub old_token: u64,
    /// Your tier when it was taken (`stale` with force; absent or abandoned otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub your_tier: Option<Tier>,
    /// An admin force-released it (`by` is the admin): nobody took it over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

/// What `force_release` asks the store to do: free `name` whoever holds it (an admin's
/// decision), tell the holder, and start a lock-delay reserved for nobody.
#[derive(Debug, Clone)]
pub struct ForceRelease {
    /// Canonical name.
    pub name: String,
    /// Who forced it (the admin's session name), for the holder's note.
    pub by: String,
    pub lock_delay_ms: i64,
    pub tiers: TierThresholds,
}

/// What `force_release` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ForceReleaseOutcome {
    /// Freed: `from` is the lock as it was held (with its holder's tier then); until
    /// `delay_until`, if set, nobody may be granted it.
    Released {
        from: HeldLock,
        #[serde(default)]
        delay_until: Option<i64>,
        now_ms: i64,
    },
    /// Nobody held it (never taken, released, or expired): nothing changed.
    NotHeld { now_ms: i64 },
}

/// What `acquire` asks the store to do.
#[derive(Debug, Clone)]
pub struct AcquireRequest {
    /// Canonical name.
    pub name: String,
    /// Canonical names of the enclosing locks (`[wave:5c]` for `wave:5c.1`).
    pub ancestors: Vec<String>,
    /// Prefix shared by all descendants (`wave:5c.`), if the kind has a hierarchy.
    pub descendant_prefix: Option<String>,
    pub session: String,
    /// Already clamped to the configured maximum; ≥ 1.
    pub ttl_ms: i64,
    pub reason: Option<String>,
    /// Take the lock over from a stale holder.
    pub force: bool,
    pub tiers: TierThresholds,
    pub lock_delay_ms: i64,
    /// Set while the caller waits: it joins (or keeps its place in) the FIFO queue.
    pub waiter: Option<Waiter>,
}

/// What `extend` asks the store to do.
#[derive(Debug, Clone)]
pub struct ExtendRequest {
    /// Canonical name.
    pub name: String,
    pub session: String,
    /// The new time to live from now; already clamped, ≥ 1.
    pub ttl_ms: i64,
    pub tiers: TierThresholds,
}

/// A queued caller. Its liveness key expires after `ttl_ms` unless the next attempt
/// refreshes it, so a crashed daemon's waiters drop out by themselves (sooner when the store
/// knows that daemon is gone: see `store/redis/daemons.rs`).
#[derive(Debug, Clone)]
pub struct Waiter {
    pub id: String,
    pub ttl_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AcquireOutcome {
    Granted(Grant),
    Refused(Refusal),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub lock: LockRecord,
    /// The caller already held it: TTL extended, token kept.
    pub reentrant: bool,
    /// The lock was taken from this holder (stale with force, or absent/abandoned).
    #[serde(default)]
    pub taken_over_from: Option<HeldLock>,
    /// Conflicting ancestor/descendant locks of dead or (with force) stale holders that
    /// were released to make this grant.
    #[serde(default, deserialize_with = "lua_vec")]
    pub released_related: Vec<HeldLock>,
    /// When set, a lock-delay runs until then: only this caller may be granted the lock.
    #[serde(default)]
    pub delay_until: Option<i64>,
    pub now_ms: i64,
}

/// Why a lock was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// Another session holds this lock.
    Held,
    /// Another session holds an ancestor or descendant (`related_lock`).
    Related,
    /// Free, but a lock-delay after a takeover reserves it for `reserved_for`.
    LockDelay,
    /// Free, but live waiters are queued ahead of the caller.
    Queued,
    /// The store lost its data (Redis restarted without persistence, flushed, an old
    /// backup): nothing is granted until `delay_until`, when every lock granted before
    /// the loss has expired (see `store::GrantHold`).
    StoreRecovering,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub refusal: RefusalKind,
    /// The blocking lock (this one, or the related one) and its holder.
    #[serde(default)]
    pub holder: Option<HeldLock>,
    #[serde(default)]
    pub related_lock: Option<String>,
    #[serde(default)]
    pub delay_until: Option<i64>,
    #[serde(default)]
    pub reserved_for: Option<String>,
    /// Why grants are held back (`StoreRecovering` only).
    #[serde(default)]
    pub hold_reason: Option<String>,
    /// 1-based place in the queue when the caller is waiting.
    #[serde(default)]
    pub queue_position: Option<u32>,
    pub queue_length: u32,
    pub now_ms: i64,
}

/// The answer of a holder-only call on its lock (release, extend): done, or refused because
/// nobody holds the lock (never taken, released, or expired) or somebody else does — with the
/// caller's takeover note either way. Both enums have the one shape, stated once here.
macro_rules! holder_outcome {
    ($(#[$doc:meta])* $name:ident, $done:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "outcome", rename_all = "snake_case")]
        pub enum $name {
            $done {
                lock: LockRecord,
                now_ms: i64,
            },
            /// Nobody holds it (never taken, released, or expired).
            NotHeld {
                #[serde(default)]
                note: Option<TakeoverNote>,
                now_ms: i64,
            },
            NotOwner {
                holder: HeldLock,
                #[serde(default)]
                note: Option<TakeoverNote>,
                now_ms: i64,
            },
        }

        impl From<HolderRefusal> for $name {
            fn from(refusal: HolderRefusal) -> Self {
                match refusal {
                    HolderRefusal::NotHeld { note, now_ms } => Self::NotHeld { note, now_ms },
                    HolderRefusal::NotOwner {
                        holder,
                        note,
                        now_ms,
                    } => Self::NotOwner {
                        holder,
                        note,
                        now_ms,
                    },
                }
            }
        }
    };
}

/// Why a holder-only call was refused, before it becomes that call's outcome (`.into()`):
/// the embedded store's twin of `common.lua`'s `own_lock` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderRefusal {
    NotHeld {
        note: Option<TakeoverNote>,
        now_ms: i64,
    },
    NotOwner {
        holder: HeldLock,
        note: Option<TakeoverNote>,
        now_ms: i64,
    },
}

holder_outcome!(
    /// What `release` did.
    ReleaseOutcome,
    Released
);
holder_outcome!(
    /// What `extend` did (`lock` carries the new expiry).
    ExtendOutcome,
    Extended
);

/// What `check` sees: the lock (if held), its queue, a running lock-delay, and a takeover
/// note for the caller if its hold on this lock was taken over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockStatus {
    #[serde(default)]
    pub held: Option<HeldLock>,
    /// Callers queued for it that still count (a crashed daemon's waiters do not).
    pub waiters: u32,
    #[serde(default)]
    pub delay_until: Option<i64>,
    #[serde(default)]
    pub reserved_for: Option<String>,
    #[serde(default)]
    pub note: Option<TakeoverNote>,
    pub now_ms: i64,
}

/// Every held lock, from the index (expired entries pruned on the way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockListing {
    #[serde(default, deserialize_with = "lua_vec")]
    pub locks: Vec<HeldLock>,
    pub now_ms: i64,
}

/// One lock's queue and lock-delay, as a dashboard shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockQueue {
    /// Canonical name.
    pub name: String,
    /// Sessions waiting for it, first in line first (a crashed daemon's waiters — entry
    /// expired, or their daemon gone from the registry — are left out).
    #[serde(default, deserialize_with = "lua_vec")]
    pub waiters: Vec<String>,
    /// A lock-delay after a takeover runs until then, for `reserved_for` only (for nobody
    /// when `reserved_for` is absent: after a force-release).
    #[serde(default)]
    pub delay_until: Option<i64>,
    #[serde(default)]
    pub reserved_for: Option<String>,
}

/// Store operations for locks. Each method is one atomic operation.
#[async_trait]
pub trait LockStore: Send + Sync {
    /// Grants, re-enters, takes over, or refuses (joining the queue when `waiter` is set).
    async fn acquire(&self, req: &AcquireRequest) -> Result<AcquireOutcome, StoreError>;

    /// Releases if `session` holds it; wakes waiters.
    async fn release(
        &self,
        name: &str,
        session: &str,
        tiers: TierThresholds,
    ) -> Result<ReleaseOutcome, StoreError>;

    /// Sets the expiry to now + `req.ttl_ms` if `req.session` holds `req.name`.
    async fn extend(&self, req: &ExtendRequest) -> Result<ExtendOutcome, StoreError>;

    /// Reads the lock, its queue and lock-delay; `session`'s takeover note if any.
    async fn check(
        &self,
        name: &str,
        session: &str,
        tiers: TierThresholds,
    ) -> Result<LockStatus, StoreError>;

    /// Every held lock (read from the index, never by scanning keys).
    async fn list(&self, tiers: TierThresholds) -> Result<LockListing, StoreError>;

    /// The names of every held lock, in no particular order, without reading a record:
    /// what a listing pages over (then [`LockStore::held_locks`] reads one page).
    async fn held_names(&self) -> Result<Vec<String>, StoreError>;

    /// The locks among `names` (canonical) that are still held, in the order given; the
    /// others are left out. Reads only these records.
    async fn held_locks(
        &self,
        names: &[String],
        tiers: TierThresholds,
    ) -> Result<LockListing, StoreError>;

    /// The queues and lock-delays of `names` (canonical), in one read; locks with neither
    /// are left out. Read-only: dead waiters are skipped, not pruned.
    async fn queues(&self, names: &[String]) -> Result<Vec<LockQueue>, StoreError>;

    /// Removes a waiter from a lock's queue (timed out, cancelled, or granted elsewhere);
    /// wakes the next waiter if it was at the head.
    async fn leave_queue(&self, name: &str, waiter_id: &str) -> Result<(), StoreError>;

    /// Frees `req.name` whoever holds it, leaves the holder a note (`forced`), and with
    /// `lock_delay_ms` > 0 starts a lock-delay reserved for nobody; wakes waiters.
    async fn force_release(&self, req: &ForceRelease) -> Result<ForceReleaseOutcome, StoreError>;

    /// Releases every lock `session` holds (session ended or abandoned) and wakes their
    /// waiters. With `lock_delay_ms` > 0 (an admin ended a session that may still be
    /// running) each released lock gets a lock-delay reserved for nobody. Returns the
    /// released canonical names.
    async fn release_all_held_by(
        &self,
        session: &str,
        lock_delay_ms: i64,
    ) -> Result<Vec<String>, StoreError>;

    /// A stream of released lock names, for waiters: a hint to retry now rather than at the
    /// next periodic re-check. Messages may be lost; waiters re-check anyway.
    fn lock_events(&self) -> tokio::sync::broadcast::Receiver<String>;
}

pub(crate) use crate::domain::lua_json::lua_vec;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_clock_and_never_go_back() {
        let now = 1_796_173_352_437_i64;
        assert_eq!(next_fencing_token(0, now), (now as u64) << 5);
        let t = next_fencing_token(0, now);
        assert_eq!(next_fencing_token(t, now), t + 1, "same ms: one more");
        assert_eq!(
            next_fencing_token(t + 5000, now + 1),
            t + 5001,
            "ran ahead of the clock: keeps counting"
        );
        assert_eq!(
            next_fencing_token(t, now - 60_000),
            t + 1,
            "clock stepped back"
        );
        assert!(
            next_fencing_token(0, now + 1) > t,
            "a lost counter restarts above"
        );
        // Old counters (the embedded store's epoch << 32 scheme) are far below the clock.
        assert!(next_fencing_token(7 << 32, now) > 7 << 32);
        // Below 10^14 (what Redis's Lua cjson prints exactly) until 2069.
        let year_2068_ms = 3_124_000_000_000_i64;
        assert!(next_fencing_token(0, year_2068_ms) < 100_000_000_000_000);
    }
}
