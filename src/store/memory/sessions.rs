//! Embedded implementation of [`SessionStore`](crate::store::SessionStore): the same rules
//! as the Redis scripts, each operation one `apply` under the state mutex.

use std::collections::{BTreeSet, HashMap, VecDeque};

use async_trait::async_trait;

use super::table::{Table, TableRef};
use super::{MemoryStore, wall_clock_ms};
use crate::domain::hierarchy::check_placement;
use crate::domain::session::{SessionEntry, SessionRecord, StatusReport};
use crate::store::sessions::{
    EndOutcome, PutOutcome, PutSession, ReportOutcome, SessionPolicy, StatusWrite,
};
use crate::store::{SessionStore, StoreError};

/// The sessions part of the embedded state.
#[derive(Debug, Default)]
pub struct SessionState {
    /// Live session name → last activity (ms). The embedded twin of Redis's
    /// `sessions:last_seen` zset; lock decisions read it for the holder's tier.
    pub last_seen: Table<String, i64>,
    /// Every record, live or ended (until purged).
    pub records: Table<String, SessionRecord>,
    /// Ended session name → ended at (ms): the twin of `sessions:ended`.
    pub ended: Table<String, i64>,
    /// Status reports, newest first, capped at `sessions.status_history`.
    pub history: Table<String, VecDeque<StatusReport>>,
    /// Derived: parent → its children (live or ended), the twin of
    /// `sessions:children:{parent}`; rebuilt from the records' `parent` at load.
    pub children: HashMap<String, BTreeSet<String>>,
}

impl SessionState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![
            TableRef::new("sessions", &["name"], &mut self.records),
            TableRef::new("session_last_seen", &["name"], &mut self.last_seen),
            TableRef::new("sessions_ended", &["name"], &mut self.ended),
            TableRef::new("session_status_history", &["name"], &mut self.history),
        ]
    }

    pub(super) fn rebuild(&mut self) {
        self.children.clear();
        for rec in self.records.values() {
            if let Some(parent) = &rec.parent {
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .insert(rec.name.clone());
            }
        }
    }

    fn entry(&self, name: &str) -> Option<SessionEntry> {
        let record = self.records.get(name)?.clone();
        let live = self.last_seen.get(name).copied();
        Some(SessionEntry {
            last_seen_ms: live.unwrap_or(record.last_seen_ms),
            live: live.is_some(),
            record,
        })
    }

    fn live_children(&self, parent: &str, except: &str) -> usize {
        self.children.get(parent).map_or(0, |set| {
            set.iter()
                .filter(|c| c.as_str() != except && self.last_seen.contains_key(c.as_str()))
                .count()
        })
    }

    fn unlink_child(&mut self, parent: &str, child: &str) {
        if let Some(set) = self.children.get_mut(parent) {
            set.remove(child);
            if set.is_empty() {
                self.children.remove(parent);
            }
        }
    }

    fn put(
        &mut self,
        put: PutSession,
        now: i64,
        active_ms: i64,
        max_children: usize,
        max_depth: usize,
    ) -> PutOutcome {
        let name = put.record.name.clone();
        let current = self.records.get(&name);
        let unchanged = match (&put.expected, current) {
            (None, None) => true,
            (Some(e), Some(c)) => e.rev == c.rev,
            _ => false,
        };
        if !unchanged {
            return PutOutcome::Changed;
        }
        if let (Some(conn), Some(cur), Some(&seen)) =
            (&put.claim, current, self.last_seen.get(&name))
        {
            let age = now - seen;
            if !cur.connection_id.is_empty() && &cur.connection_id != conn && age < active_ms {
                return PutOutcome::Owned {
                    connection_id: cur.connection_id.clone(),
                    age_ms: age,
                };
            }
        }
        let old_parent = current.and_then(|c| c.parent.clone());
        let parent_changes = old_parent != put.record.parent;
        if let Some(parent) = &put.record.parent {
            let parent_depth = self.records.get(parent).map(|p| p.depth);
            if parent_depth != put.expected_parent_depth {
                return PutOutcome::Changed;
            }
            let own = if parent_changes {
                self.live_children(&name, "")
            } else {
                0
            };
            if let Err(refusal) = check_placement(
                parent,
                parent_depth,
                self.live_children(parent, &name),
                parent_changes,
                own,
                max_children,
                max_depth,
            ) {
                return PutOutcome::Refused(refusal);
            }
        }
        if parent_changes && let Some(old) = &old_parent {
            self.unlink_child(old, &name);
        }
        if let Some(parent) = &put.record.parent {
            self.children
                .entry(parent.clone())
                .or_default()
                .insert(name.clone());
        }
        self.records.insert(name.clone(), put.record);
        self.last_seen.insert(name.clone(), now);
        self.ended.remove(&name);
        PutOutcome::Written(Box::new(self.entry(&name).expect("just written")))
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn touch_session(
        &self,
        name: &str,
        _policy: &SessionPolicy,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let now = wall_clock_ms();
        self.apply(|st| match st.sessions.last_seen.get_mut(name) {
            Some(seen) => {
                let previous = *seen;
                *seen = now;
                (now, Some(previous))
            }
            None => (now, None),
        })
        .await
    }

    async fn put_session(&self, put: PutSession) -> Result<PutOutcome, StoreError> {
        let p = put.policy;
        let (active_ms, max_children, max_depth) = (p.tiers.active_ms, p.max_children, p.max_depth);
        let now = wall_clock_ms();
        self.apply(|st| {
            st.sessions
                .put(put, now, active_ms, max_children, max_depth)
        })
        .await
    }

    async fn get_session(&self, name: &str) -> Result<Option<SessionEntry>, StoreError> {
        self.apply(|st| st.sessions.entry(name)).await
    }

    async fn list_sessions(&self, include_ended: bool) -> Result<Vec<SessionEntry>, StoreError> {
        self.apply(|st| {
            let s = &st.sessions;
            let mut names: Vec<&String> = s.last_seen.keys().collect();
            if include_ended {
                names.extend(s.ended.keys());
            }
            names.into_iter().filter_map(|n| s.entry(n)).collect()
        })
        .await
    }

    async fn child_sessions(&self, parent: &str) -> Result<Vec<SessionEntry>, StoreError> {
        self.apply(|st| {
            let s = &st.sessions;
            s.children.get(parent).map_or_else(Vec::new, |set| {
                set.iter()
                    .filter_map(|c| s.entry(c))
                    .filter(|e| e.record.parent.as_deref() == Some(parent))
                    .collect()
            })
        })
        .await
    }

    async fn report_status(&self, write: StatusWrite) -> Result<ReportOutcome, StoreError> {
        self.apply(|st| {
            let s = &mut st.sessions;
            let name = write.record.name.clone();
            match s.records.get(&name) {
                Some(cur) if cur.rev == write.expected_rev => {}
                _ => return ReportOutcome::Changed,
            }
            if !s.last_seen.contains_key(&name) {
                return ReportOutcome::NotLive;
            }
            s.records.insert(name.clone(), write.record);
            let history = s.history.get_or_default(name.clone());
            history.push_front(write.report);
            history.truncate(write.policy.status_history);
            ReportOutcome::Stored(Box::new(s.entry(&name).expect("just written")))
        })
        .await
    }

    async fn status_history(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Vec<StatusReport>, StoreError> {
        self.apply(|st| {
            st.sessions
                .history
                .get(name)
                .map(|h| h.iter().take(limit).cloned().collect())
                .unwrap_or_default()
        })
        .await
    }

    async fn end_session(
        &self,
        record: SessionRecord,
        expected_rev: u64,
        seen_before: Option<i64>,
    ) -> Result<EndOutcome, StoreError> {
        self.apply(|st| {
            let s = &mut st.sessions;
            let name = record.name.clone();
            match s.records.get(&name) {
                Some(cur) if cur.rev == expected_rev => {}
                _ => return EndOutcome::Changed,
            }
            let Some(&seen) = s.last_seen.get(&name) else {
                return EndOutcome::NotLive;
            };
            if seen_before.is_some_and(|cutoff| seen > cutoff) {
                return EndOutcome::NotDue;
            }
            let ended_at = record.ended_at_ms.unwrap_or_else(wall_clock_ms);
            s.last_seen.remove(&name);
            s.ended.insert(name.clone(), ended_at);
            s.records.insert(name.clone(), record);
            EndOutcome::Ended(Box::new(s.entry(&name).expect("just written")))
        })
        .await
    }

    async fn sessions_seen_between(
        &self,
        after: Option<i64>,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.apply(|st| {
            let mut found: Vec<(String, i64)> = st
                .sessions
                .last_seen
                .iter()
                .filter(|(_, seen)| **seen <= up_to && after.is_none_or(|a| **seen > a))
                .map(|(n, s)| (n.clone(), *s))
                .collect();
            found.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            found.truncate(limit);
            found
        })
        .await
    }

    async fn purge_ended(&self, cutoff: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.apply(|st| {
            let s = &mut st.sessions;
            let mut due: Vec<(String, i64)> = s
                .ended
                .iter()
                .filter(|(_, at)| **at <= cutoff)
                .map(|(n, at)| (n.clone(), *at))
                .collect();
            due.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            due.truncate(limit);
            for (name, _) in &due {
                s.ended.remove(name);
                s.history.remove(name);
                if let Some(parent) = s.records.remove(name).and_then(|r| r.parent) {
                    s.unlink_child(&parent, name);
                }
            }
            due.into_iter().map(|(n, _)| n).collect()
        })
        .await
    }

    async fn try_reaper_lock(&self, _token: &str, _ttl_ms: u64) -> Result<bool, StoreError> {
        // One process, one reaper: nobody else can hold it.
        Ok(true)
    }

    async fn release_reaper_lock(&self, _token: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn swap_reaper_mark(&self, now: i64) -> Result<Option<i64>, StoreError> {
        self.apply(|st| {
            let previous = st.meta.get("reaper_last_run").and_then(|v| v.as_i64());
            st.meta.insert("reaper_last_run".into(), now.into());
            previous
        })
        .await
    }
}
