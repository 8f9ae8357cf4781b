//! Embedded implementation of [`AuditStore`](crate::store::AuditStore): the twin of the
//! `audit` stream, as table `audit` keyed by (`at_ms`, `seq`) so rows stay in time order.

use async_trait::async_trait;

use super::table::{Table, TableRef};
use super::{MemoryStore, wall_clock_ms};
use crate::store::StoreError;
use crate::store::audit::{AuditPolicy, AuditQuery, AuditRecord, AuditStore};

/// The audit part of the embedded state.
#[derive(Debug, Default)]
pub struct AuditState {
    /// (`at_ms`, sequence number) → entry.
    pub entries: Table<(u64, u64), AuditRecord>,
    /// The last sequence number handed out (rebuilt from the table).
    seq: u64,
}

impl AuditState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![TableRef {
            name: "audit",
            key_columns: &["at_ms", "seq"],
            table: &mut self.entries,
        }]
    }

    pub(super) fn rebuild(&mut self) {
        self.seq = self.entries.keys().map(|k| k.1).max().unwrap_or(0);
    }

    fn trim(&mut self, policy: AuditPolicy, now: i64) {
        let oldest_kept = now.saturating_sub(policy.max_age_ms.max(1)).max(0) as u64;
        loop {
            let first = self.entries.keys().next().copied();
            match first {
                Some(k) if k.0 < oldest_kept || self.entries.len() > policy.max_entries.max(1) => {
                    self.entries.remove(&k);
                }
                _ => break,
            }
        }
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(
        &self,
        entries: &[AuditRecord],
        policy: AuditPolicy,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = wall_clock_ms();
        self.apply(|st| {
            let audit = &mut st.audit;
            for e in entries {
                audit.seq += 1;
                let key = (e.at_ms.max(0) as u64, audit.seq);
                audit.entries.insert(key, e.clone());
            }
            audit.trim(policy, now);
        })
        .await
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let from = (query.since_ms.max(0) as u64, 0);
        let mut found: Vec<AuditRecord> = self.read(|st| {
            st.audit
                .entries
                .range(from..)
                .rev()
                .map(|(_, r)| r)
                .filter(|r| query.matches(r))
                .take(query.limit)
                .cloned()
                .collect()
        });
        found.reverse();
        Ok(found)
    }
}
