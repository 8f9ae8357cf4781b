//! Redis implementation of [`SessionStore`](crate::store::SessionStore).
//!
//! Every write is one Lua script (`scripts/session_*.lua`) that checks the record's revision
//! and the cross-session invariants and updates the indexes in the same step; reads are
//! pipelines. Candidates for the reaper come from the `last_seen` / `ended` sorted sets,
//! never from a key scan.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use super::RedisStore;
use crate::domain::hierarchy::PlacementRefusal;
use crate::domain::session::{SessionEntry, SessionRecord, StatusReport};
use crate::store::sessions::{
    EndOutcome, PutOutcome, PutSession, ReportOutcome, SessionPolicy, StatusWrite,
};
use crate::store::{SessionStore, StoreError};

static TOUCH: LazyLock<Script> = script!("session_touch.lua");
static PUT: LazyLock<Script> = script!("session_put.lua");
static END: LazyLock<Script> = script!("session_end.lua");
static REPORT: LazyLock<Script> = script!("session_report.lua");
static PURGE: LazyLock<Script> = script!("session_purge.lua");
static REAPER_UNLOCK: LazyLock<Script> = script!("reaper_unlock.lua");

fn parse_record(raw: &str) -> Result<SessionRecord, StoreError> {
    Ok(serde_json::from_str(raw)?)
}

fn script_int(parts: &[String], at: usize) -> i64 {
    parts.get(at).and_then(|s| s.parse().ok()).unwrap_or(0)
}

impl RedisStore {
    /// Records and liveness of `names`, in one pipeline (names without a record are skipped).
    async fn entries(&self, names: Vec<String>) -> Result<Vec<SessionEntry>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys().clone();
        let (raws, scores): (Vec<Option<String>>, Vec<Option<f64>>) = {
            let names = names.clone();
            self.run(|mut c| async move {
                let record_keys: Vec<String> = names.iter().map(|n| keys.session(n)).collect();
                redis::pipe()
                    .mget(record_keys)
                    .cmd("ZMSCORE")
                    .arg(keys.sessions_last_seen())
                    .arg(&names)
                    .query_async(&mut c)
                    .await
            })
            .await?
        };
        raws.into_iter().zip(scores).filter_map(to_entry).collect()
    }

    /// Records of sessions whose liveness is already known (`Some(last seen)` for the live
    /// ones, from `ZRANGE … WITHSCORES`): one `MGET`. The listing of every session used to ask
    /// `ZMSCORE` for all names again.
    async fn entries_scored(
        &self,
        names: Vec<(String, Option<f64>)>,
    ) -> Result<Vec<SessionEntry>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys().clone();
        let record_keys: Vec<String> = names.iter().map(|(n, _)| keys.session(n)).collect();
        let raws: Vec<Option<String>> = self
            .run(|mut c| async move { c.mget(record_keys).await })
            .await?;
        raws.into_iter()
            .zip(names.into_iter().map(|(_, score)| score))
            .filter_map(to_entry)
            .collect()
    }
}

/// One session from its stored record and its `last_seen` score (`None`: not live). A name
/// without a record (deleted between the two reads) is skipped.
fn to_entry(
    (raw, score): (Option<String>, Option<f64>),
) -> Option<Result<SessionEntry, StoreError>> {
    let raw = raw?;
    Some(parse_record(&raw).map(|record| SessionEntry {
        last_seen_ms: score.map_or(record.last_seen_ms, |s| s as i64),
        live: score.is_some(),
        record,
    }))
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn touch_session(
        &self,
        name: &str,
        policy: &SessionPolicy,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let keys = self.keys().clone();
        let ttl = policy.tiers.active_ms;
        let name = name.to_string();
        let parts: Vec<String> = self
            .run(|mut c| async move {
                TOUCH
                    .key(keys.sessions_last_seen())
                    .key(keys.heartbeat(&name))
                    .arg(&name)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        let now = script_int(&parts, 0);
        let previous = parts.get(1).and_then(|s| s.parse().ok());
        Ok((now, previous))
    }

    async fn put_session(&self, put: PutSession) -> Result<PutOutcome, StoreError> {
        let keys = self.keys().clone();
        let p = &put.policy;
        let (active_ms, max_children, max_depth, ttl) = (
            p.tiers.active_ms,
            p.max_children,
            p.max_depth,
            p.tiers.active_ms,
        );
        let record = put.record.clone();
        let name = record.name.clone();
        let parent = record.parent.clone().unwrap_or_default();
        let old_parent = put
            .expected
            .as_ref()
            .and_then(|e| e.parent.clone())
            .unwrap_or_default();
        let parent_changes = parent != old_parent;
        let json = record.to_json();
        let expected_rev = put
            .expected
            .as_ref()
            .map(|e| e.rev.to_string())
            .unwrap_or_default();
        let parent_depth = put
            .expected_parent_depth
            .map(|d| d.to_string())
            .unwrap_or_default();
        let claim = put.claim.clone().unwrap_or_default();
        let parts: Vec<String> = {
            let (name, parent, old_parent) = (name.clone(), parent.clone(), old_parent.clone());
            self.run(|mut c| async move {
                let placeholder = keys.session(&name);
                let pkey = |p: &str| {
                    if p.is_empty() {
                        placeholder.clone()
                    } else {
                        keys.session(p)
                    }
                };
                let ckey = |p: &str| {
                    if p.is_empty() {
                        placeholder.clone()
                    } else {
                        keys.session_children(p)
                    }
                };
                PUT.key(keys.session(&name))
                    .key(keys.sessions_last_seen())
                    .key(keys.sessions_ended())
                    .key(keys.heartbeat(&name))
                    .key(pkey(&parent))
                    .key(ckey(&parent))
                    .key(ckey(&old_parent))
                    .key(keys.session_children(&name))
                    .arg(&name)
                    .arg(expected_rev)
                    .arg(json)
                    .arg(&parent)
                    .arg(parent_depth)
                    .arg(if parent_changes { "1" } else { "0" })
                    .arg(&old_parent)
                    .arg(claim)
                    .arg(active_ms)
                    .arg(max_children)
                    .arg(max_depth)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?
        };
        let n = script_int(&parts, 1);
        Ok(match parts.first().map(String::as_str) {
            Some("ok") => PutOutcome::Written(Box::new(SessionEntry {
                record,
                last_seen_ms: n,
                live: true,
            })),
            Some("owned") => PutOutcome::Owned {
                connection_id: parts.get(1).cloned().unwrap_or_default(),
                age_ms: script_int(&parts, 2),
            },
            Some("has_children") => PutOutcome::Refused(PlacementRefusal::HasChildren {
                live_children: n as usize,
            }),
            Some("depth") => PutOutcome::Refused(PlacementRefusal::DepthLimit {
                parent,
                depth: n as u32,
                max: max_depth,
            }),
            Some("child_limit") => PutOutcome::Refused(PlacementRefusal::ChildLimit {
                parent,
                live_children: n as usize,
                max: max_children,
            }),
            _ => PutOutcome::Changed,
        })
    }

    async fn get_session(&self, name: &str) -> Result<Option<SessionEntry>, StoreError> {
        Ok(self.entries(vec![name.to_string()]).await?.pop())
    }

    async fn list_sessions(&self, include_ended: bool) -> Result<Vec<SessionEntry>, StoreError> {
        let keys = self.keys().clone();
        let (live, ended): (Vec<(String, f64)>, Vec<String>) = self
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                pipe.zrange_withscores(keys.sessions_last_seen(), 0, -1);
                if include_ended {
                    pipe.zrange(keys.sessions_ended(), 0, -1);
                } else {
                    // Keeps the reply shape; an empty range of the same key.
                    pipe.zrange(keys.sessions_ended(), 1, 0);
                }
                pipe.query_async(&mut c).await
            })
            .await?;
        let names = live
            .into_iter()
            .map(|(name, score)| (name, Some(score)))
            .chain(ended.into_iter().map(|name| (name, None)))
            .collect();
        self.entries_scored(names).await
    }

    async fn child_sessions(&self, parent: &str) -> Result<Vec<SessionEntry>, StoreError> {
        let key = self.keys().session_children(parent);
        let names: Vec<String> = self
            .run(|mut c| async move { c.smembers(key).await })
            .await?;
        let mut entries = self.entries(names).await?;
        entries.retain(|e| e.record.parent.as_deref() == Some(parent));
        entries.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        Ok(entries)
    }

    async fn report_status(&self, write: StatusWrite) -> Result<ReportOutcome, StoreError> {
        let StatusWrite {
            record,
            expected_rev,
            report,
            policy,
        } = write;
        let keys = self.keys().clone();
        let cap = policy.status_history;
        let ttl = policy
            .tiers
            .stale_ms
            .saturating_add(policy.ended_retention_ms);
        let json = record.to_json();
        let entry = serde_json::to_string(&report)?;
        let name = record.name.clone();
        let parts: Vec<String> = self
            .run(|mut c| async move {
                REPORT
                    .key(keys.session(&name))
                    .key(keys.sessions_last_seen())
                    .key(keys.session_history(&name))
                    .arg(&name)
                    .arg(expected_rev)
                    .arg(json)
                    .arg(entry)
                    .arg(cap)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match parts.first().map(String::as_str) {
            Some("ok") => ReportOutcome::Stored(Box::new(SessionEntry {
                last_seen_ms: script_int(&parts, 1),
                live: true,
                record,
            })),
            Some("not_live") => ReportOutcome::NotLive,
            _ => ReportOutcome::Changed,
        })
    }

    async fn status_history(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Vec<StatusReport>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys().session_history(name);
        let raws: Vec<String> = self
            .run(|mut c| async move { c.lrange(key, 0, limit as isize - 1).await })
            .await?;
        raws.iter()
            .map(|r| serde_json::from_str(r).map_err(StoreError::from))
            .collect()
    }

    async fn end_session(
        &self,
        record: SessionRecord,
        expected_rev: u64,
        seen_before: Option<i64>,
    ) -> Result<EndOutcome, StoreError> {
        let keys = self.keys().clone();
        let json = record.to_json();
        let name = record.name.clone();
        let ended_at = record.ended_at_ms.unwrap_or_default();
        let parts: Vec<String> = self
            .run(|mut c| async move {
                END.key(keys.session(&name))
                    .key(keys.sessions_last_seen())
                    .key(keys.sessions_ended())
                    .key(keys.heartbeat(&name))
                    .arg(&name)
                    .arg(expected_rev)
                    .arg(json)
                    .arg(ended_at)
                    .arg(seen_before.map(|s| s.to_string()).unwrap_or_default())
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match parts.first().map(String::as_str) {
            Some("ok") => EndOutcome::Ended(Box::new(SessionEntry {
                last_seen_ms: record.last_seen_ms,
                live: false,
                record,
            })),
            Some("not_live") => EndOutcome::NotLive,
            Some("not_due") => EndOutcome::NotDue,
            _ => EndOutcome::Changed,
        })
    }

    async fn sessions_seen_between(
        &self,
        after: Option<i64>,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let key = self.keys().sessions_last_seen();
        let min = after.map_or("-inf".to_string(), |a| format!("({a}"));
        let found: Vec<(String, f64)> = self
            .run(|mut c| async move {
                c.zrangebyscore_limit_withscores(key, min, up_to, 0, limit as isize)
                    .await
            })
            .await?;
        Ok(found.into_iter().map(|(n, s)| (n, s as i64)).collect())
    }

    async fn purge_ended(&self, cutoff: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        let key = self.keys().sessions_ended();
        let due: Vec<String> = self
            .run(|mut c| async move {
                c.zrangebyscore_limit(key, "-inf", cutoff, 0, limit as isize)
                    .await
            })
            .await?;
        let mut purged = Vec::new();
        for name in due {
            let entry = self.get_session(&name).await?;
            let (rev, parent) = entry
                .map(|e| (e.record.rev, e.record.parent))
                .unwrap_or((0, None));
            let keys = self.keys().clone();
            let done: i64 = {
                let name = name.clone();
                self.run(|mut c| async move {
                    let children = parent
                        .as_deref()
                        .map_or_else(|| keys.session(&name), |p| keys.session_children(p));
                    PURGE
                        .key(keys.session(&name))
                        .key(keys.sessions_ended())
                        .key(keys.session_history(&name))
                        .key(children)
                        .arg(&name)
                        .arg(cutoff)
                        .arg(rev)
                        .arg(if parent.is_some() { "1" } else { "0" })
                        .invoke_async(&mut c)
                        .await
                })
                .await?
            };
            if done == 1 {
                purged.push(name);
            }
        }
        Ok(purged)
    }

    async fn try_reaper_lock(&self, token: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        let key = self.keys().reaper_lock();
        let token = token.to_string();
        let set: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    async fn release_reaper_lock(&self, token: &str) -> Result<(), StoreError> {
        let key = self.keys().reaper_lock();
        let token = token.to_string();
        let _: i64 = self
            .run(
                |mut c| async move { REAPER_UNLOCK.key(key).arg(token).invoke_async(&mut c).await },
            )
            .await?;
        Ok(())
    }

    async fn swap_reaper_mark(&self, now: i64) -> Result<Option<i64>, StoreError> {
        let key = self.keys().reaper_last_run();
        let previous: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(now)
                    .arg("GET")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(previous.and_then(|p| p.parse().ok()))
    }
}
