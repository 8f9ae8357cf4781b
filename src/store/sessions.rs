//! The sessions part of the store trait.
//!
//! Records are written with compare-and-set on their revision ([`SessionRecord::rev`]): the
//! service reads, decides (merging fields, building the new record), and writes with the
//! revision it read; a concurrent write makes the store answer [`PutOutcome::Changed`] and
//! the service tries again. The invariants that must hold across sessions (one owner per
//! name, child and depth limits, the liveness index) are checked inside the one atomic write.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::hierarchy::PlacementRefusal;
use crate::domain::session::{SessionEntry, SessionRecord, StatusReport};
use crate::domain::tiers::TierThresholds;

/// What `report_status` asks the store to do.
#[derive(Debug, Clone)]
pub struct StatusWrite {
    /// The record to store, its `status` already the new report and `rev` bumped.
    pub record: SessionRecord,
    /// The revision the record was read at (compare-and-set).
    pub expected_rev: u64,
    /// The report to push onto the history.
    pub report: StatusReport,
    pub policy: SessionPolicy,
}

/// The session rules a store enforces, handed in by the service with every call that needs
/// them: the store holds no settings of its own (as lock calls get their tiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Tier boundaries. A name is in use by its connection while that is active; the seed's
    /// `heartbeat:{name}` key lives for the active threshold.
    pub tiers: TierThresholds,
    /// Live children one parent may have.
    pub max_children: usize,
    /// Depth of the session tree (1 = masters with children).
    pub max_depth: usize,
    /// Status reports kept per session.
    pub status_history: usize,
    /// How long an ended session stays listable.
    pub ended_retention_ms: i64,
}

/// A record write: registration, re-registration, implicit registration, revival.
#[derive(Debug, Clone)]
pub struct PutSession {
    /// The complete new record (its `rev` is the expected one + 1, its `depth` the parent's
    /// `expected_parent_depth` + 1).
    pub record: SessionRecord,
    /// The record this write is based on; `None` = there must be none.
    pub expected: Option<SessionRecord>,
    /// The depth of `record.parent` as read (`None` = the parent has no record).
    pub expected_parent_depth: Option<u32>,
    /// `Some(connection)`: refuse when the session is live, active and owned by another
    /// connection (someone else is using the name right now).
    pub claim: Option<String>,
    /// The limits and thresholds this write is checked against.
    pub policy: SessionPolicy,
}

/// What a [`PutSession`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    Written(Box<SessionEntry>),
    /// The record or its parent changed since it was read: read again and retry.
    Changed,
    /// Another connection holds the name and used it `age_ms` ago (active tier).
    Owned {
        connection_id: String,
        age_ms: i64,
    },
    /// The hierarchy limits refuse the parent.
    Refused(PlacementRefusal),
}

/// What ending a session did.
#[derive(Debug, Clone, PartialEq)]
pub enum EndOutcome {
    Ended(Box<SessionEntry>),
    Changed,
    /// Not in the liveness index (never registered, or already ended).
    NotLive,
    /// Seen after the cut-off given by the reaper: it came back, leave it.
    NotDue,
}

/// What a status report did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportOutcome {
    Stored(Box<SessionEntry>),
    Changed,
    NotLive,
}

/// Store operations for sessions. Each method is one atomic operation.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The hot path of the implicit heartbeat: when `name` is live, sets its last activity
    /// to the store's now (and the seed's `heartbeat:{name}` key, TTL = active threshold) and
    /// returns `(now, previous last activity)`. When it is not live, changes nothing and
    /// returns `(now, None)`: the caller registers it with [`SessionStore::put_session`].
    async fn touch_session(
        &self,
        name: &str,
        policy: &SessionPolicy,
    ) -> Result<(i64, Option<i64>), StoreError>;

    /// Writes a record and makes the session live (see [`PutSession`]).
    async fn put_session(&self, put: PutSession) -> Result<PutOutcome, StoreError>;

    /// One session, live or ended.
    async fn get_session(&self, name: &str) -> Result<Option<SessionEntry>, StoreError>;

    /// Live sessions (index `last_seen`), plus ended ones (index `ended`) when asked.
    async fn list_sessions(&self, include_ended: bool) -> Result<Vec<SessionEntry>, StoreError>;

    /// Sessions whose parent is `parent`, live or ended (until purged).
    async fn child_sessions(&self, parent: &str) -> Result<Vec<SessionEntry>, StoreError>;

    /// Stores `write.record` (which carries the new status) and pushes `write.report` onto
    /// the capped history, if the session is live and unchanged since `write.expected_rev`.
    async fn report_status(&self, write: StatusWrite) -> Result<ReportOutcome, StoreError>;

    /// The newest `limit` status reports, newest first.
    async fn status_history(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Vec<StatusReport>, StoreError>;

    /// Ends a live session: writes `record` (with `ended_at_ms`), moves the name from the
    /// liveness index to the `ended` index. With `seen_before`, only if its last activity is
    /// at or before it (the reaper's guard against a session that just came back).
    async fn end_session(
        &self,
        record: SessionRecord,
        expected_rev: u64,
        seen_before: Option<i64>,
    ) -> Result<EndOutcome, StoreError>;

    /// Live sessions with last activity in `(after, up_to]` (`after = None`: from the start),
    /// oldest first, at most `limit`. What the reaper reads; never a key scan.
    async fn sessions_seen_between(
        &self,
        after: Option<i64>,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// Deletes sessions ended at or before `cutoff` (record, history, parent link), at most
    /// `limit`; returns their names.
    async fn purge_ended(&self, cutoff: i64, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Takes the reaper lock for `ttl_ms` if nobody holds it (one reaper per run across
    /// daemons sharing a store).
    async fn try_reaper_lock(&self, token: &str, ttl_ms: u64) -> Result<bool, StoreError>;

    /// Releases the reaper lock if `token` still holds it.
    async fn release_reaper_lock(&self, token: &str) -> Result<(), StoreError>;

    /// Records `now` as the reaper's last run and returns the previous one.
    async fn swap_reaper_mark(&self, now: i64) -> Result<Option<i64>, StoreError>;
}
