//! Messages between sessions: the stored shape, the kinds, who a `to` names, and the rules
//! for what a sender may put in a message. No I/O.

use serde::{Deserialize, Serialize};

use super::named_enum::named_enum;
use super::session::{StatusReport, WorkState};
use super::session_name;

/// The `from` of messages the daemon writes itself (lock takeover notes).
pub const SYSTEM_SENDER: &str = "mcp-coord";

named_enum! {
    /// What a message is for. `status` messages are written by the daemon when a child calls
    /// `report_session_status`; senders may use the other four.
    pub enum MessageKind {
        Info = "info",
        Task = "task",
        Question = "question",
        Reply = "reply",
        Status = "status",
    }
}

impl MessageKind {
    pub const NAMES: &'static str = "info, task, question, reply or status";

    pub fn parse(s: &str) -> Result<MessageKind, String> {
        MessageKind::from_name(s).ok_or_else(|| {
            format!(
                "kind {:?} is not known; use one of {}",
                session_name::truncate(s, 40),
                Self::NAMES
            )
        })
    }
}

/// A message as stored in an inbox (one JSON field `m` of a stream entry) and as returned.
/// `id` is the inbox stream id (`1718000000000-0`); it is unique within one inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    /// Stream id in the recipient's inbox; pass it as `reply_to` to answer.
    #[serde(default)]
    pub id: String,
    /// The sender, stamped by the server from the sender's connection.
    pub from: String,
    pub to: String,
    pub kind: MessageKind,
    pub body: String,
    /// The message this one answers (its id, as its recipient saw it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The sender waits for (or expects) a `reply` with `reply_to` = this id.
    #[serde(default)]
    pub wants_reply: bool,
    /// Store clock (ms) when it was sent.
    #[serde(default)]
    pub sent_at_ms: i64,
    /// Skipped by readers after this (store clock, ms); `None` = kept as long as the inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
    /// Written by the daemon itself (`from` is `mcp-coord`), not by a session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system: bool,
    /// Status messages: the child's reported state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<WorkState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Status messages: `true` for `done` and `failed`, the last word of a child.
    #[serde(default, rename = "final", skip_serializing_if = "std::ops::Not::not")]
    pub is_final: bool,
}

impl Message {
    /// A message without an id or times yet (the store stamps them).
    pub fn new(from: &str, to: &str, kind: MessageKind, body: String) -> Message {
        Message {
            id: String::new(),
            from: from.to_string(),
            to: to.to_string(),
            kind,
            body,
            reply_to: None,
            wants_reply: false,
            sent_at_ms: 0,
            expires_at_ms: None,
            system: false,
            state: None,
            progress: None,
            summary: None,
            is_final: false,
        }
    }

    /// The status message a child's report becomes in its parent's inbox.
    pub fn status(child: &str, parent: &str, report: &StatusReport) -> Message {
        let state = format!("{:?}", report.state).to_lowercase();
        let mut body = match report.progress {
            Some(p) => format!("{child} is {state} ({p}%)"),
            None => format!("{child} is {state}"),
        };
        if let Some(s) = &report.summary {
            body.push_str(": ");
            body.push_str(s);
        }
        Message {
            state: Some(report.state),
            progress: report.progress,
            summary: report.summary.clone(),
            is_final: report.state.is_final(),
            ..Message::new(child, parent, MessageKind::Status, body)
        }
    }

    /// The JSON kept in the stream entry (without the id, which is the entry's own).
    pub fn to_stored_json(&self) -> String {
        let mut m = self.clone();
        m.id.clear();
        // Strings, numbers, bools and enums only: encoding cannot fail.
        serde_json::to_string(&m).unwrap_or_default()
    }

    /// Reads a stored entry back, with its stream id.
    pub fn from_stored(id: &str, raw: &str) -> Result<Message, serde_json::Error> {
        let mut m: Message = serde_json::from_str(raw)?;
        m.id = id.to_string();
        Ok(m)
    }

    pub fn expired_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|e| e <= now_ms)
    }
}

/// Who a `to` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One session by name (`session:NAME` forces this reading for a session literally
    /// named like a keyword).
    Session(String),
    /// The caller's parent.
    Parent,
    /// The caller's live children.
    Children,
    /// Live sessions of the caller's project with this role (record role or
    /// `metadata.role`), except the caller.
    Role(String),
    /// Every live session of the caller's project except the caller.
    Project,
}

impl Target {
    pub fn parse(to: &str) -> Result<Target, String> {
        let to = to.trim();
        Ok(match to {
            "parent" => Target::Parent,
            "children" => Target::Children,
            "project" => Target::Project,
            _ => {
                if let Some(role) = to.strip_prefix("role:") {
                    let role = role.trim();
                    if role.is_empty()
                        || role.len() > 64
                        || !role
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    {
                        return Err(format!(
                            "role {:?} is not a role name; use role:<name> with letters, digits, '_', '-' or '.' (e.g. role:tester)",
                            session_name::truncate(role, 40)
                        ));
                    }
                    Target::Role(role.to_string())
                } else {
                    let name = to.strip_prefix("session:").unwrap_or(to);
                    session_name::validate(name).map_err(|e| {
                        format!(
                            "to: {e}; or use parent, children, project, or role:<role> to reach several sessions"
                        )
                    })?;
                    Target::Session(name.to_string())
                }
            }
        })
    }

    /// Fan-out targets answer per recipient; a single session answers with an error when it
    /// cannot be reached.
    pub fn is_fan_out(&self) -> bool {
        matches!(self, Target::Children | Target::Role(_) | Target::Project)
    }
}

/// Checks a body a sender wrote: not empty, at most `max_bytes`, no control characters
/// other than newline and tab.
pub fn check_body(body: &str, max_bytes: usize) -> Result<(), String> {
    if body.trim().is_empty() {
        return Err("message is empty; write what the other session should know or do".into());
    }
    if body.len() > max_bytes {
        return Err(format!(
            "message is {} bytes; the limit is {max_bytes} (messages.max_bytes). Shorten it, or put the details in a file and send its path",
            body.len()
        ));
    }
    if body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err("message contains control characters; use plain text".into());
    }
    Ok(())
}

/// A stream id as Redis writes it: `<ms>-<seq>`.
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// Checks a message id a caller gave (`reply_to`, `wait_for_response`).
pub fn check_id(field: &str, id: &str) -> Result<(), String> {
    if parse_id(id).is_none() {
        return Err(format!(
            "{field} {:?} is not a message id; ids look like 1718000000000-0 (the id field of a message, or message_id from send_message_to_session)",
            session_name::truncate(id, 40)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("parent"), Ok(Target::Parent));
        assert_eq!(Target::parse("children"), Ok(Target::Children));
        assert_eq!(Target::parse("project"), Ok(Target::Project));
        assert_eq!(
            Target::parse("role:tester"),
            Ok(Target::Role("tester".into()))
        );
        assert_eq!(
            Target::parse("session:parent"),
            Ok(Target::Session("parent".into()))
        );
        assert_eq!(Target::parse("w1"), Ok(Target::Session("w1".into())));
        assert!(Target::parse("role:").is_err());
        assert!(Target::parse("a b").is_err());
        assert!(Target::parse("").is_err());
        assert!(Target::Project.is_fan_out());
        assert!(!Target::Parent.is_fan_out());
    }

    #[test]
    fn bodies_are_bounded() {
        assert!(check_body("hi", 10).is_ok());
        assert!(check_body("  ", 10).is_err());
        assert!(check_body(&"x".repeat(11), 10).is_err());
        assert!(check_body("a\u{7}b", 10).is_err());
        assert!(check_body("a\nb\tc", 10).is_ok());
    }

    #[test]
    fn ids_parse() {
        assert_eq!(parse_id("17-3"), Some((17, 3)));
        assert!(parse_id("17").is_none());
        assert!(check_id("reply_to", "x-1").is_err());
    }

    #[test]
    fn status_messages_mark_the_last_word() {
        let r = StatusReport::build("done", Some(100), Some("all green".into()), 5).unwrap();
        let m = Message::status("c1", "m", &r);
        assert!(m.is_final);
        assert_eq!(m.kind, MessageKind::Status);
        assert_eq!(m.body, "c1 is done (100%): all green");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["final"], true);
        let r = StatusReport::build("working", None, None, 5).unwrap();
        assert!(!Message::status("c1", "m", &r).is_final);
    }

    #[test]
    fn stored_json_round_trips() {
        let mut m = Message::new("a", "b", MessageKind::Task, "do it".into());
        m.id = "5-0".into();
        let raw = m.to_stored_json();
        assert!(!raw.contains("5-0"));
        assert_eq!(Message::from_stored("5-0", &raw).unwrap(), m);
    }
}
