//! The session record and the rules for what a caller may put in it.
//!
//! A record is stored as one JSON string (`redis-cli GET claude:sessions:NAME` shows it).
//! Liveness is not in the record: the last activity lives in the `sessions:last_seen` index
//! (so a heartbeat is a `ZADD`, not a JSON rewrite); `last_seen_ms` here is the value at the
//! last write of the record (registration, status report, end).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::named_enum::named_enum;
use super::session_name;

/// Largest serialized `metadata` object a session may carry.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Longest free-text field (`branch`, `cwd`, `summary`).
pub const MAX_TEXT_LEN: usize = 1024;
/// Longest `project` / `task` id (they become parts of session names).
pub const MAX_ID_LEN: usize = 64;

named_enum! {
    /// What kind of session this is. Derived from the name when not given.
    pub enum Role {
        Master = "master",
        Child = "child",
        Agent = "agent",
    }
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, String> {
        Role::from_name(s).ok_or_else(|| {
            format!(
                "role {:?} is not known; use master, child or agent (or leave it out: it is derived from the name)",
                session_name::truncate(s, 40)
            )
        })
    }
}

named_enum! {
    /// The state a session reports about its own work (seed 000's `report_session_status`).
    pub enum WorkState {
        Starting = "starting",
        Working = "working",
        Blocked = "blocked",
        Waiting = "waiting",
        Idle = "idle",
        Done = "done",
        Failed = "failed",
    }
}

impl WorkState {
    pub const NAMES: &'static str = "starting, working, blocked, waiting, idle, done or failed";

    /// `done` and `failed`: the session's last word on its task.
    pub fn is_final(self) -> bool {
        matches!(self, WorkState::Done | WorkState::Failed)
    }

    pub fn parse(s: &str) -> Result<WorkState, String> {
        WorkState::from_name(s).ok_or_else(|| {
            format!(
                "state {:?} is not known; use one of {}",
                session_name::truncate(s, 40),
                Self::NAMES
            )
        })
    }
}

/// One status report: the current one sits in the record, past ones in the capped history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusReport {
    pub state: WorkState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Store-clock milliseconds when it was reported.
    pub at_ms: i64,
}

impl StatusReport {
    /// Validates a report as a caller sent it.
    pub fn build(
        state: &str,
        progress: Option<i64>,
        summary: Option<String>,
        at_ms: i64,
    ) -> Result<StatusReport, String> {
        let state = WorkState::parse(state)?;
        let progress = match progress {
            None => None,
            Some(p @ 0..=100) => Some(p as u8),
            Some(p) => {
                return Err(format!(
                    "progress {p} is out of range; give a percentage from 0 to 100 (or leave it out)"
                ));
            }
        };
        let summary = summary
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(s) = &summary {
            check_text("summary", s)?;
        }
        Ok(StatusReport {
            state,
            progress,
            summary,
            at_ms,
        })
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The parent session (explicit, or derived from the naming convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// 0 for a root, parent's depth + 1 otherwise (checked against `sessions.max_depth`).
    #[serde(default)]
    pub depth: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// The connection that registered (owns) the name; empty when registered on its behalf
    /// (e.g. by a master through `register_session_relationship`) before it connected.
    #[serde(default)]
    pub connection_id: String,
    #[serde(default)]
    pub transport: String,
    /// `true` once registered with `register_session`; `false` when created implicitly by a
    /// first tool call.
    #[serde(default)]
    pub registered: bool,
    pub registered_at_ms: i64,
    pub last_seen_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Revision: bumped by every write, so a write based on an older read is refused
    /// (compare-and-set) instead of silently losing the other write.
    #[serde(default)]
    pub rev: u64,
}

impl SessionRecord {
    /// A new record with nothing but a name and a role, registered and seen at `now_ms`.
    pub fn new(name: &str, role: Role, now_ms: i64) -> Self {
        SessionRecord {
            name: name.to_string(),
            role,
            project: None,
            task: None,
            parent: None,
            depth: 0,
            branch: None,
            cwd: None,
            metadata: Map::new(),
            connection_id: String::new(),
            transport: String::new(),
            registered: false,
            registered_at_ms: now_ms,
            last_seen_ms: now_ms,
            status: None,
            ended_at_ms: None,
            end_reason: None,
            rev: 0,
        }
    }

    pub fn is_ended(&self) -> bool {
        self.ended_at_ms.is_some()
    }

    pub fn to_json(&self) -> String {
        // A record holds only strings, numbers, maps and enums: encoding cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A record as read from the store, with its live last activity.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEntry {
    pub record: SessionRecord,
    /// The `last_seen` index score when live; the record's value when ended.
    pub last_seen_ms: i64,
    /// In the liveness index (not ended).
    pub live: bool,
}

/// Checks a free-text field: bounded length, no control characters.
pub fn check_text(field: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(format!(
            "{field} is {} characters long; the limit is {MAX_TEXT_LEN}",
            value.chars().count()
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!(
            "{field} contains control characters; send plain text"
        ));
    }
    Ok(())
}

/// Checks a `project` or `task` id: it becomes part of session names, so the name charset.
pub fn check_id(field: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} {:?} is not allowed; use 1-{MAX_ID_LEN} letters, digits, '.', '_' or '-' (it becomes part of names like child_<project>_task_<task>)",
            session_name::truncate(value, 40)
        ))
    }
}

/// Turns the caller's `metadata` into an object of bounded size. Seed 001 passed free
/// metadata; a string (JSON text or a note) is accepted too.
pub fn normalize_metadata(value: Option<Value>) -> Result<Map<String, Value>, String> {
    let map = match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(map)) => map,
            _ => {
                let mut map = Map::new();
                map.insert("note".into(), Value::String(s));
                map
            }
        },
        Some(other) => {
            return Err(format!(
                "metadata must be a JSON object (or a string), not {}",
                match other {
                    Value::Array(_) => "an array",
                    Value::Bool(_) => "a boolean",
                    _ => "a number",
                }
            ));
        }
    };
    let size = serde_json::to_string(&map).map(|s| s.len()).unwrap_or(0);
    if size > MAX_METADATA_BYTES {
        return Err(format!(
            "metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}; keep only what other sessions need (paths, ids), not logs"
        ));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_and_progress_are_checked() {
        let r = StatusReport::build("working", Some(40), Some(" tests ".into()), 7).unwrap();
        assert_eq!(r.state, WorkState::Working);
        assert_eq!(r.progress, Some(40));
        assert_eq!(r.summary.as_deref(), Some("tests"));
        assert!(
            StatusReport::build("sleeping", None, None, 0)
                .unwrap_err()
                .contains("starting, working")
        );
        assert!(
            StatusReport::build("done", Some(101), None, 0)
                .unwrap_err()
                .contains("0 to 100")
        );
        assert!(StatusReport::build("done", Some(-1), None, 0).is_err());
        assert!(StatusReport::build("done", None, Some("x".repeat(2000)), 0).is_err());
    }

    #[test]
    fn metadata_is_an_object_of_bounded_size() {
        assert!(normalize_metadata(None).unwrap().is_empty());
        assert_eq!(
            normalize_metadata(Some(json!("hello"))).unwrap()["note"],
            "hello"
        );
        assert_eq!(
            normalize_metadata(Some(json!("{\"a\":1}"))).unwrap()["a"],
            1
        );
        assert!(normalize_metadata(Some(json!([1]))).is_err());
        let big = json!({ "blob": "x".repeat(MAX_METADATA_BYTES) });
        assert!(
            normalize_metadata(Some(big))
                .unwrap_err()
                .contains("limit is 4096")
        );
    }

    #[test]
    fn ids_use_the_name_charset() {
        check_id("project", "web-2").unwrap();
        check_id("project", "my_app").unwrap();
        assert!(check_id("project", &"p".repeat(65)).is_err());
        assert!(check_id("task", "").is_err());
        assert!(check_id("task", "a b").is_err());
    }

    #[test]
    fn records_round_trip_as_json() {
        let r = SessionRecord {
            name: "w".into(),
            role: Role::Agent,
            project: None,
            task: None,
            parent: None,
            depth: 0,
            branch: None,
            cwd: None,
            metadata: Map::new(),
            connection_id: "c".into(),
            transport: "sse".into(),
            registered: true,
            registered_at_ms: 1,
            last_seen_ms: 2,
            status: None,
            ended_at_ms: None,
            end_reason: None,
            rev: 3,
        };
        let back: SessionRecord = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }
}
