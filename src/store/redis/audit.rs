//! Redis implementation of [`AuditStore`](crate::store::AuditStore): one stream
//! (`{prefix}audit`, field `e` = the entry's JSON). Appending and trimming by size and age is
//! one script (`audit_append.lua`); a query walks the stream newest first with
//! `XREVRANGE … COUNT`, so it reads at most the entries since `since_ms`.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::RedisStore;
use crate::store::StoreError;
use crate::store::audit::{AuditPolicy, AuditQuery, AuditRecord, AuditStore};

static APPEND: LazyLock<Script> = script!("audit_append.lua");

/// Entries read per `XREVRANGE` round trip.
const PAGE: usize = 500;

/// A stream id is the Redis time of the append, an entry's `at_ms` the time it happened
/// (a little earlier, or another daemon's clock): the walk starts this much before
/// `since_ms` and the entries' own times decide.
const SLACK_MS: i64 = 60_000;

#[async_trait]
impl AuditStore for RedisStore {
    async fn append_audit(
        &self,
        entries: &[AuditRecord],
        policy: AuditPolicy,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let json = entries
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Internal(format!("cannot encode an audit entry: {e}")))?;
        let key = self.keys().audit();
        self.run(|mut c| async move {
            let mut inv = APPEND.key(key);
            inv.arg(policy.max_entries.max(1))
                .arg(policy.max_age_ms.max(1));
            for j in &json {
                inv.arg(j);
            }
            inv.invoke_async::<i64>(&mut c).await
        })
        .await?;
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let key = self.keys().audit();
        let mut found = Vec::new();
        let mut end = "+".to_string();
        let start = query.since_ms.saturating_sub(SLACK_MS).max(0).to_string();
        while found.len() < query.limit {
            let (k, e, s) = (key.clone(), end.clone(), start.clone());
            let page: Vec<(String, Vec<String>)> = self
                .run(|mut c| async move {
                    redis::cmd("XREVRANGE")
                        .arg(k)
                        .arg(e)
                        .arg(s)
                        .arg("COUNT")
                        .arg(PAGE)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            let last = page.last().map(|(id, _)| id.clone());
            for (id, fields) in &page {
                let Some(raw) = fields
                    .chunks(2)
                    .find(|f| f[0] == "e")
                    .and_then(|f| f.get(1))
                else {
                    continue;
                };
                let record: AuditRecord = serde_json::from_str(raw).map_err(|e| {
                    StoreError::Internal(format!("audit entry {id} does not parse: {e}"))
                })?;
                if query.matches(&record) {
                    found.push(record);
                    if found.len() >= query.limit {
                        break;
                    }
                }
            }
            match last {
                Some(id) if page.len() == PAGE => end = format!("({id}"),
                _ => break,
            }
        }
        found.reverse();
        Ok(found)
    }
}
