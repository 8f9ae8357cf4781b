//! Reads a `state.json` snapshot written by releases before the SQLite store (format 1) into
//! the tables, once, on the first start with a new `state.db`.
//!
//! The old snapshot nested some records (notes per session, messages inside their inbox)
//! that are rows of their own now; the rest has the same shape. Fencing: the old scheme put
//! tokens above `epoch << 32` after an unclean stop; its counters are carried over as they
//! are, and the clock-based tokens (`now_ms << 5`, about 5.7·10¹³ today) are far above
//! any token the old scheme can have granted, even after the last snapshot of a crashed run.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::State;
use super::locks::{Delay, LockState, NoteRow};
use super::messages::{Entry, Inbox};
use super::table::Table;
use crate::domain::message::Message;
use crate::store::locks::{LockRecord, TakeoverNote};

/// The newest snapshot format this release reads.
const SNAPSHOT_VERSION: u64 = 1;

/// `part` at `path` inside `state`, or its default when the snapshot has no such field
/// (old snapshots filled missing fields with defaults too).
fn field<T: DeserializeOwned + Default>(state: &Value, path: &[&str]) -> Result<T, String> {
    let mut v = state;
    for p in path {
        match v.get(p) {
            Some(next) => v = next,
            None => return Ok(T::default()),
        }
    }
    if v.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(v.clone()).map_err(|e| format!("{}: {e}", path.join(".")))
}

#[derive(Deserialize)]
struct OldInbox {
    #[serde(default)]
    entries: Vec<OldEntry>,
    #[serde(default)]
    last_id: (u64, u64),
    #[serde(default)]
    expires_at: i64,
    #[serde(default)]
    cursor: Option<(u64, u64)>,
}

#[derive(Deserialize)]
struct OldEntry {
    id: (u64, u64),
    message: Message,
    #[serde(default)]
    ttl_ms: Option<i64>,
}

/// The state a format-1 snapshot holds, with derived indexes rebuilt.
pub fn from_snapshot(bytes: &[u8]) -> Result<State, String> {
    let snapshot: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let version = snapshot.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > SNAPSHOT_VERSION {
        return Err(format!(
            "format {version} is newer than this release reads ({SNAPSHOT_VERSION})"
        ));
    }
    if snapshot.get("clean").and_then(Value::as_bool) != Some(true) {
        tracing::warn!(
            "the old snapshot is from a run that did not stop cleanly: changes after it were \
             lost then; migrating what it holds"
        );
    }
    let st = snapshot.get("state").cloned().unwrap_or(Value::Null);

    let notes: BTreeMap<String, BTreeMap<String, (TakeoverNote, i64)>> =
        field(&st, &["locks", "notes"])?;
    let notes: Table<(String, String), NoteRow> = notes
        .into_iter()
        .flat_map(|(session, per_lock)| {
            per_lock.into_iter().map(move |(lock, (note, expires_at))| {
                ((session.clone(), lock), NoteRow { note, expires_at })
            })
        })
        .collect();
    let locks = LockState::from_parts(
        field::<BTreeMap<String, LockRecord>>(&st, &["locks", "locks"])?
            .into_iter()
            .collect(),
        field::<BTreeMap<String, u64>>(&st, &["locks", "fences"])?
            .into_iter()
            .collect(),
        field::<BTreeMap<String, Delay>>(&st, &["locks", "delays"])?
            .into_iter()
            .collect(),
        notes,
    );

    let mut state = State {
        locks,
        ..State::default()
    };
    let s = &mut state.sessions;
    s.last_seen = field::<BTreeMap<_, _>>(&st, &["sessions", "last_seen"])?
        .into_iter()
        .collect();
    s.records = field::<BTreeMap<_, _>>(&st, &["sessions", "records"])?
        .into_iter()
        .collect();
    s.ended = field::<BTreeMap<_, _>>(&st, &["sessions", "ended"])?
        .into_iter()
        .collect();
    s.history = field::<BTreeMap<_, _>>(&st, &["sessions", "history"])?
        .into_iter()
        .collect();
    if let Some(at) = field::<Option<i64>>(&st, &["sessions", "reaper_last_run"])? {
        state.meta.insert("reaper_last_run".into(), at.into());
    }

    let inboxes: BTreeMap<String, OldInbox> = field(&st, &["messages", "inboxes"])?;
    for (session, old) in inboxes {
        for e in old.entries {
            state.messages.messages.insert(
                (session.clone(), e.id.0, e.id.1),
                Entry {
                    message: e.message,
                    ttl_ms: e.ttl_ms,
                },
            );
        }
        state.messages.inboxes.insert(
            session,
            Inbox {
                last_id: old.last_id,
                expires_at: old.expires_at,
                cursor: old.cursor,
            },
        );
    }
    state.rebuild();
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot written by the release before the SQLite store (a clean stop after:
    /// three locks, three sessions, three messages).
    const OLD: &str = include_str!("../../../tests/it/fixtures/state-v1.json");

    #[test]
    fn an_old_snapshot_becomes_rows() {
        let st = from_snapshot(OLD.as_bytes()).unwrap();
        assert_eq!(st.locks.fences.get("wave:5c.1"), Some(&2));
        assert_eq!(st.sessions.records.len(), 3);
        assert_eq!(st.messages.messages.len(), 3);
        assert_eq!(st.messages.inboxes.len(), 2);
        let (key, first) = st.messages.messages.iter().next().unwrap();
        assert_eq!(key.0, "crashy");
        assert_eq!(first.message.body, "reply-ish");
    }

    #[test]
    fn nested_notes_are_flattened_and_a_newer_format_is_refused() {
        let snapshot = serde_json::json!({
            "version": 1, "clean": false,
            "state": {"locks": {"notes": {"old": {"issue:9": [
                {"lock": "issue:9", "by": "new", "at": 5, "old_token": 1}, 99
            ]}}}}
        });
        let st = from_snapshot(snapshot.to_string().as_bytes()).unwrap();
        let row = st
            .locks
            .notes
            .get(&("old".into(), "issue:9".into()))
            .unwrap();
        assert_eq!((row.note.by.as_str(), row.expires_at), ("new", 99));
        let newer = serde_json::json!({"version": 2, "state": {}});
        let err = from_snapshot(newer.to_string().as_bytes()).err().unwrap();
        assert!(err.contains("newer"), "{err}");
    }
}
