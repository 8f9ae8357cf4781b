//! Embedded implementation of [`LockStore`](crate::store::LockStore): the Lua scripts'
//! logic in Rust, each operation one `apply` under the state mutex (atomic like a script,
//! committed to SQLite before it answers).
//! Expiry is lazy: a lock whose `expires_at` has passed is treated as absent and dropped
//! when next touched.

use std::collections::{BTreeSet, HashMap, VecDeque};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::table::{Table, TableRef};
use super::{MemoryStore, State, wall_clock_ms};
use crate::domain::tiers::{Tier, TierThresholds};
use crate::store::StoreError;
use crate::store::locks::{
    AcquireOutcome, AcquireRequest, ExtendOutcome, ExtendRequest, ForceRelease,
    ForceReleaseOutcome, Grant, HeldLock, HolderRefusal, LockListing, LockQueue, LockRecord,
    LockStatus, LockStore, NOTE_TTL_MS, Refusal, RefusalKind, ReleaseOutcome, TakeoverNote,
    next_fencing_token,
};

/// The locks part of the embedded state. `Clone` lets a decision that takes several locks
/// at once (a task claim) put everything back when one is refused.
#[derive(Debug, Clone)]
pub struct LockState {
    /// Held locks by canonical name (ordered: descendants are a range).
    locks: Table<String, LockRecord>,
    /// Fencing-token counters: the last token granted per lock. Never pruned.
    pub fences: Table<String, u64>,
    /// Waiter ids per lock, FIFO. In memory only, like `waiters`: a waiter is a request
    /// this daemon is serving, so none survives a restart (a crash would otherwise leave
    /// entries that block the queue until they expire, issue 12).
    queues: HashMap<String, VecDeque<String>>,
    waiters: HashMap<String, WaiterEntry>,
    delays: Table<String, Delay>,
    /// (old holder, lock) → the note telling it who took the lock.
    pub(super) notes: Table<(String, String), NoteRow>,
    /// Derived: session → the locks it holds (rebuilt from `locks` at load).
    held: HashMap<String, BTreeSet<String>>,
    events: broadcast::Sender<String>,
}

#[derive(Debug, Clone)]
pub(super) struct WaiterEntry {
    pub session: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Delay {
    /// The session that took the lock over; `None` after a force-release (nobody).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
    pub until: i64,
}

/// A takeover note as stored: the note and when it is dropped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct NoteRow {
    #[serde(flatten)]
    pub note: TakeoverNote,
    pub expires_at: i64,
}

impl Default for LockState {
    fn default() -> Self {
        Self {
            locks: Table::default(),
            fences: Table::default(),
            queues: HashMap::new(),
            waiters: HashMap::new(),
            delays: Table::default(),
            notes: Table::default(),
            held: HashMap::new(),
            events: broadcast::channel(1024).0,
        }
    }
}

impl LockState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![
            TableRef::new("locks", &["name"], &mut self.locks),
            TableRef::new("fences", &["name"], &mut self.fences),
            TableRef::new("lock_delays", &["name"], &mut self.delays),
            TableRef::new("takeover_notes", &["session", "lock"], &mut self.notes),
        ]
    }

    pub(super) fn rebuild(&mut self) {
        self.held.clear();
        for rec in self.locks.values() {
            self.held
                .entry(rec.holder.clone())
                .or_default()
                .insert(rec.name.clone());
        }
    }

    /// Rows from an old snapshot (see `migrate.rs`); its queues are left behind (their
    /// waiters were requests of the daemon that wrote it).
    pub(super) fn from_parts(
        locks: Table<String, LockRecord>,
        fences: Table<String, u64>,
        delays: Table<String, Delay>,
        notes: Table<(String, String), NoteRow>,
    ) -> Self {
        Self {
            locks,
            fences,
            delays,
            notes,
            ..Self::default()
        }
    }
}

fn session_age(st: &State, session: &str, now: i64) -> Option<i64> {
    st.sessions.last_seen.get(session).map(|s| now - s)
}

/// `session`'s own live lock `name`, or why not (`common.lua`'s `own_lock`, for release and
/// extend).
fn own_lock(
    st: &mut State,
    name: &str,
    session: &str,
    now: i64,
    tiers: TierThresholds,
) -> Result<LockRecord, Box<HolderRefusal>> {
    match st.locks.live(name, now) {
        None => Err(Box::new(HolderRefusal::NotHeld {
            note: st.locks.note(session, name, now),
            now_ms: now,
        })),
        Some(cur) if cur.holder != session => Err(Box::new(HolderRefusal::NotOwner {
            holder: view(st, &cur, now, tiers),
            note: st.locks.note(session, name, now),
            now_ms: now,
        })),
        Some(cur) => Ok(cur),
    }
}

fn view(st: &State, rec: &LockRecord, now: i64, tiers: TierThresholds) -> HeldLock {
    let age = session_age(st, &rec.holder, now);
    HeldLock {
        lock: rec.clone(),
        holder_age_ms: age,
        tier: age.map(|a| tiers.tier_of(a)),
    }
}

impl LockState {
    /// The live record of `name`, dropping it if expired.
    fn live(&mut self, name: &str, now: i64) -> Option<LockRecord> {
        match self.locks.get(name) {
            Some(r) if r.expires_at > now => Some(r.clone()),
            Some(_) => {
                self.drop_lock(name);
                None
            }
            None => None,
        }
    }

    /// Stores `rec` as held: the table row and the holder's index entry.
    fn hold(&mut self, rec: LockRecord) {
        self.held
            .entry(rec.holder.clone())
            .or_default()
            .insert(rec.name.clone());
        self.locks.insert(rec.name.clone(), rec);
    }

    fn drop_lock(&mut self, name: &str) -> Option<LockRecord> {
        let rec = self.locks.remove(name)?;
        if let Some(set) = self.held.get_mut(&rec.holder) {
            set.remove(name);
            if set.is_empty() {
                self.held.remove(&rec.holder);
            }
        }
        Some(rec)
    }

    fn delay(&mut self, name: &str, now: i64) -> Option<Delay> {
        match self.delays.get(name) {
            Some(d) if d.until > now => Some(d.clone()),
            Some(_) => {
                self.delays.remove(name);
                None
            }
            None => None,
        }
    }

    /// `session`'s note for `name`, dropping the session's expired notes on the way.
    fn note(&mut self, session: &str, name: &str, now: i64) -> Option<TakeoverNote> {
        let expired: Vec<(String, String)> = self
            .notes
            .range((session.to_string(), String::new())..)
            .take_while(|((s, _), _)| s == session)
            .filter(|(_, row)| row.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.notes.remove(&key);
        }
        self.notes
            .get(&(session.to_string(), name.to_string()))
            .map(|row| row.note.clone())
    }

    fn queue_len(&self, name: &str) -> u32 {
        self.queues.get(name).map_or(0, |q| q.len() as u32)
    }

    /// The waiters of `name` that still count, first in line first: entry not expired
    /// (read-only; acquire prunes the others).
    fn live_waiters(&self, name: &str, now: i64) -> impl Iterator<Item = &WaiterEntry> {
        self.queues
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|id| self.waiters.get(id))
            .filter(move |w| w.expires_at > now)
    }

    fn leave(&mut self, name: &str, waiter: &str) -> bool {
        self.waiters.remove(waiter);
        let Some(q) = self.queues.get_mut(name) else {
            return false;
        };
        let was_head = q.front().map(String::as_str) == Some(waiter);
        q.retain(|w| w != waiter);
        if q.is_empty() {
            self.queues.remove(name);
        }
        was_head
    }

    /// Starts a lock-delay on `name` reserved for nobody (after a force-release or an admin's
    /// end of its holder); `None` when `delay_ms` is 0.
    fn delay_for_nobody(&mut self, name: &str, now: i64, delay_ms: i64) -> Option<i64> {
        if delay_ms <= 0 {
            return None;
        }
        let until = now + delay_ms;
        self.delays.insert(
            name.to_string(),
            Delay {
                reserved_for: None,
                until,
            },
        );
        Some(until)
    }

    fn publish(&self, name: &str) {
        let _ = self.events.send(name.to_string());
    }
}

/// `acquire.lua`, in Rust.
pub(super) fn acquire(st: &mut State, req: &AcquireRequest, now: i64) -> AcquireOutcome {
    let caller = req.session.as_str();
    let name = req.name.as_str();
    let waiter = req.waiter.as_ref();

    let refuse = |st: &mut State, kind: RefusalKind, mut r: Refusal| {
        r.refusal = kind;
        if let Some(w) = waiter {
            let q = st.locks.queues.entry(req.name.clone()).or_default();
            let pos = match q.iter().position(|id| *id == w.id) {
                Some(p) => p,
                None => {
                    q.push_back(w.id.clone());
                    q.len() - 1
                }
            };
            st.locks.waiters.insert(
                w.id.clone(),
                WaiterEntry {
                    session: caller.to_string(),
                    expires_at: now + w.ttl_ms,
                },
            );
            st.sessions.last_seen.insert(caller.to_string(), now);
            r.queue_position = Some(pos as u32 + 1);
        }
        r.queue_length = st.locks.queue_len(name);
        AcquireOutcome::Refused(r)
    };
    let blank = Refusal {
        refusal: RefusalKind::Held,
        holder: None,
        related_lock: None,
        delay_until: None,
        reserved_for: None,
        hold_reason: None,
        queue_position: None,
        queue_length: 0,
        now_ms: now,
    };

    // 1. Re-entrant.
    let cur = st.locks.live(name, now);
    if let Some(mut cur) = cur.clone().filter(|c| c.holder == caller) {
        cur.expires_at = cur.expires_at.max(now + req.ttl_ms);
        if req.reason.is_some() {
            cur.reason = req.reason.clone();
        }
        st.locks.hold(cur.clone());
        st.sessions.last_seen.insert(caller.to_string(), now);
        if let Some(w) = waiter {
            st.locks.leave(name, &w.id);
        }
        return AcquireOutcome::Granted(Grant {
            lock: cur,
            reentrant: true,
            taken_over_from: None,
            released_related: Vec::new(),
            delay_until: None,
            now_ms: now,
        });
    }

    let may_take = |st: &State, rec: &LockRecord| -> Result<HeldLock, HeldLock> {
        let v = view(st, rec, now, req.tiers);
        match v.tier {
            None | Some(Tier::Abandoned) => Ok(v),
            Some(Tier::Stale) if req.force => Ok(v),
            _ => Err(v),
        }
    };

    // 2. This lock's holder.
    let mut takeover = None;
    if let Some(cur) = &cur {
        match may_take(st, cur) {
            Ok(v) => takeover = Some(v),
            Err(v) => {
                return refuse(
                    st,
                    RefusalKind::Held,
                    Refusal {
                        holder: Some(v),
                        ..blank.clone()
                    },
                );
            }
        }
    }

    // 3. Ancestors and descendants.
    let mut related_names: Vec<String> = req.ancestors.clone();
    if let Some(prefix) = &req.descendant_prefix {
        related_names.extend(
            st.locks
                .locks
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(prefix.as_str()))
                .map(|(k, _)| k.clone()),
        );
    }
    let mut related = Vec::new();
    for rname in related_names {
        let Some(rec) = st.locks.live(&rname, now) else {
            continue;
        };
        if rec.holder == caller {
            continue;
        }
        match may_take(st, &rec) {
            Ok(v) => related.push(v),
            Err(v) => {
                return refuse(
                    st,
                    RefusalKind::Related,
                    Refusal {
                        holder: Some(v),
                        related_lock: Some(rname),
                        ..blank.clone()
                    },
                );
            }
        }
    }

    // 4. Lock-delay.
    if let Some(d) = st.locks.delay(name, now)
        && d.reserved_for.as_deref() != Some(caller)
    {
        return refuse(
            st,
            RefusalKind::LockDelay,
            Refusal {
                delay_until: Some(d.until),
                reserved_for: d.reserved_for,
                ..blank.clone()
            },
        );
    }

    // 5. FIFO, skipping dead heads.
    let own = waiter.map(|w| w.id.as_str());
    while let Some(head) = st.locks.queues.get(name).and_then(|q| q.front()).cloned() {
        if Some(head.as_str()) == own {
            break;
        }
        let alive = st.locks.waiters.get(&head).is_some_and(|w| {
            w.expires_at > now
                && session_age(st, &w.session, now).is_some_and(|a| a < req.tiers.stale_ms)
        });
        if alive {
            return refuse(st, RefusalKind::Queued, blank);
        }
        st.locks.leave(name, &head);
    }

    // 6. Grant.
    let last = st.locks.fences.get(name).copied().unwrap_or(0);
    let token = next_fencing_token(last, now);
    st.locks.fences.insert(req.name.clone(), token);
    for v in takeover.iter().chain(related.iter()) {
        st.locks.drop_lock(&v.lock.name);
        st.locks.notes.insert(
            (v.lock.holder.clone(), v.lock.name.clone()),
            NoteRow {
                note: TakeoverNote {
                    lock: v.lock.name.clone(),
                    by: caller.to_string(),
                    at: now,
                    old_token: v.lock.token,
                    your_tier: v.tier,
                    forced: false,
                },
                expires_at: now + NOTE_TTL_MS,
            },
        );
    }
    let rec = LockRecord {
        name: req.name.clone(),
        holder: caller.to_string(),
        token,
        reason: req.reason.clone(),
        acquired_at: now,
        expires_at: now + req.ttl_ms,
    };
    st.locks.hold(rec.clone());
    st.sessions.last_seen.insert(caller.to_string(), now);
    st.locks
        .notes
        .remove(&(caller.to_string(), name.to_string()));
    if let Some(w) = waiter {
        st.locks.leave(name, &w.id);
    }
    let mut delay_until = None;
    if (takeover.is_some() || !related.is_empty()) && req.lock_delay_ms > 0 {
        let until = now + req.lock_delay_ms;
        st.locks.delays.insert(
            req.name.clone(),
            Delay {
                reserved_for: Some(caller.to_string()),
                until,
            },
        );
        delay_until = Some(until);
    }
    AcquireOutcome::Granted(Grant {
        lock: rec,
        reentrant: false,
        taken_over_from: takeover,
        released_related: related,
        delay_until,
        now_ms: now,
    })
}

#[async_trait]
impl LockStore for MemoryStore {
    async fn acquire(&self, req: &AcquireRequest) -> Result<AcquireOutcome, StoreError> {
        self.apply(|st| acquire(st, req, wall_clock_ms())).await
    }

    async fn release(
        &self,
        name: &str,
        session: &str,
        tiers: TierThresholds,
    ) -> Result<ReleaseOutcome, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            let cur = match own_lock(st, name, session, now, tiers) {
                Ok(cur) => cur,
                Err(refusal) => {
                    // Not held (expired): drop it from the caller's held set if it lingers.
                    if matches!(*refusal, HolderRefusal::NotHeld { .. })
                        && let Some(set) = st.locks.held.get_mut(session)
                    {
                        set.remove(name);
                    }
                    return (*refusal).into();
                }
            };
            st.locks.drop_lock(name);
            st.locks.publish(name);
            ReleaseOutcome::Released {
                lock: cur,
                now_ms: now,
            }
        })
        .await
    }

    async fn extend(&self, req: &ExtendRequest) -> Result<ExtendOutcome, StoreError> {
        let ExtendRequest {
            name,
            session,
            ttl_ms,
            tiers,
        } = req;
        self.apply(|st| {
            let now = wall_clock_ms();
            let mut cur = match own_lock(st, name, session, now, *tiers) {
                Ok(cur) => cur,
                Err(refusal) => return (*refusal).into(),
            };
            cur.expires_at = now + ttl_ms;
            st.locks.locks.insert(name.to_string(), cur.clone());
            st.sessions.last_seen.insert(session.to_string(), now);
            ExtendOutcome::Extended {
                lock: cur,
                now_ms: now,
            }
        })
        .await
    }

    async fn check(
        &self,
        name: &str,
        session: &str,
        tiers: TierThresholds,
    ) -> Result<LockStatus, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            let cur = st.locks.live(name, now);
            let delay = st.locks.delay(name, now);
            let note = match &cur {
                Some(c) if c.holder == session => None,
                _ => st.locks.note(session, name, now),
            };
            LockStatus {
                held: cur.map(|c| view(st, &c, now, tiers)),
                waiters: st.locks.live_waiters(name, now).count() as u32,
                delay_until: delay.as_ref().map(|d| d.until),
                reserved_for: delay.and_then(|d| d.reserved_for),
                note,
                now_ms: now,
            }
        })
        .await
    }

    async fn list(&self, tiers: TierThresholds) -> Result<LockListing, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            let expired: Vec<String> = st
                .locks
                .locks
                .iter()
                .filter(|(_, r)| r.expires_at <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for name in expired {
                st.locks.drop_lock(&name);
            }
            let mut locks: Vec<HeldLock> = st
                .locks
                .locks
                .values()
                .map(|r| view(st, r, now, tiers))
                .collect();
            locks.sort_by(|a, b| {
                (a.lock.expires_at, &a.lock.name).cmp(&(b.lock.expires_at, &b.lock.name))
            });
            LockListing { locks, now_ms: now }
        })
        .await
    }

    async fn held_names(&self) -> Result<Vec<String>, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            st.locks
                .locks
                .values()
                .filter(|r| r.expires_at > now)
                .map(|r| r.name.clone())
                .collect()
        })
        .await
    }

    async fn held_locks(
        &self,
        names: &[String],
        tiers: TierThresholds,
    ) -> Result<LockListing, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            let locks = names
                .iter()
                .filter_map(|n| st.locks.locks.get(n))
                .filter(|r| r.expires_at > now)
                .map(|r| view(st, r, now, tiers))
                .collect();
            LockListing { locks, now_ms: now }
        })
        .await
    }

    async fn queues(&self, names: &[String]) -> Result<Vec<LockQueue>, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            names
                .iter()
                .filter_map(|name| {
                    let waiters: Vec<String> = st
                        .locks
                        .live_waiters(name, now)
                        .map(|w| w.session.clone())
                        .collect();
                    let delay = st.locks.delays.get(name).filter(|d| d.until > now);
                    (!waiters.is_empty() || delay.is_some()).then(|| LockQueue {
                        name: name.clone(),
                        waiters,
                        delay_until: delay.map(|d| d.until),
                        reserved_for: delay.and_then(|d| d.reserved_for.clone()),
                    })
                })
                .collect()
        })
        .await
    }

    async fn leave_queue(&self, name: &str, waiter_id: &str) -> Result<(), StoreError> {
        self.apply(|st| {
            if st.locks.leave(name, waiter_id) {
                st.locks.publish(name);
            }
        })
        .await
    }

    async fn force_release(&self, req: &ForceRelease) -> Result<ForceReleaseOutcome, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            let Some(cur) = st.locks.live(&req.name, now) else {
                return ForceReleaseOutcome::NotHeld { now_ms: now };
            };
            let from = view(st, &cur, now, req.tiers);
            st.locks.drop_lock(&req.name);
            st.locks.notes.insert(
                (cur.holder.clone(), req.name.clone()),
                NoteRow {
                    note: TakeoverNote {
                        lock: req.name.clone(),
                        by: req.by.clone(),
                        at: now,
                        old_token: cur.token,
                        your_tier: from.tier,
                        forced: true,
                    },
                    expires_at: now + NOTE_TTL_MS,
                },
            );
            let delay_until = st.locks.delay_for_nobody(&req.name, now, req.lock_delay_ms);
            st.locks.publish(&req.name);
            ForceReleaseOutcome::Released {
                from,
                delay_until,
                now_ms: now,
            }
        })
        .await
    }

    async fn release_all_held_by(
        &self,
        session: &str,
        lock_delay_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        self.apply(|st| {
            let now = wall_clock_ms();
            let names = st.locks.held.remove(session).unwrap_or_default();
            let mut released = Vec::new();
            for name in names {
                if let Some(rec) = st.locks.live(&name, now)
                    && rec.holder == session
                {
                    st.locks.drop_lock(&name);
                    st.locks.delay_for_nobody(&name, now, lock_delay_ms);
                    st.locks.publish(&name);
                    released.push(name);
                }
            }
            released
        })
        .await
    }

    fn lock_events(&self) -> broadcast::Receiver<String> {
        self.read(|st| st.locks.events.subscribe())
    }
}
