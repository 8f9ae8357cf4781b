//! What the message operations take and answer: one type each, serialized as the tools
//! publish them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::message::{Message, MessageKind};

/// `send_message_to_session`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// Who gets it: a session name; `parent`; `children` (your live children); `project`
    /// (everyone live in your project but you); `role:<role>` (sessions of that role in your
    /// project, e.g. role:tester); `session:<name>` for a session named like one of those
    /// words. May be left out for a reply (it goes to the sender of reply_to).
    /// `session_id` is accepted too.
    #[serde(default, alias = "session_id")]
    pub to: Option<String>,
    /// The text (at most messages.max_bytes, default 16 KiB).
    pub message: String,
    /// info (default), task, question or reply.
    #[serde(default)]
    pub kind: Option<String>,
    /// The id of the message this answers (required for kind=reply).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Readers skip the message after this many seconds (default: kept as long as the inbox).
    #[serde(default)]
    pub ttl_seconds: Option<i64>,
    /// Block until a reply to this message arrives (or timeout_seconds pass) and return it.
    #[serde(default)]
    pub wait_for_response: bool,
    /// How long wait_for_response waits (default 30, at most messages.max_wait_seconds).
    /// `timeout` is accepted too.
    #[serde(default, alias = "timeout")]
    pub timeout_seconds: Option<i64>,
}

/// `get_session_messages` (the hooks and the inbox resource read through it too).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// At most this many messages (default 20, at most 200).
    #[serde(default)]
    pub limit: Option<i64>,
    /// When nothing is unread, wait up to this many seconds for a message (long-poll).
    #[serde(default)]
    pub wait_seconds: Option<i64>,
    /// Look without marking them read.
    #[serde(default)]
    pub peek: bool,
    /// Only these kinds (info, task, question, reply, status); without peek they are taken
    /// out of the inbox and other kinds stay unread.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
}

/// `wait_for_response`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitArgs {
    /// The message_id send_message_to_session returned.
    pub message_id: String,
    /// Seconds to wait (default 30, at most messages.max_wait_seconds). `timeout` works too.
    #[serde(default, alias = "timeout")]
    pub timeout_seconds: Option<i64>,
    /// Only a reply from this session (the one you asked); default: anyone.
    #[serde(default)]
    pub from: Option<String>,
}

/// `coordinate_sessions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinateArgs {
    /// The overall task every session works toward.
    pub task_description: String,
    /// Session name → its subtask. `session_assignments` is accepted too.
    #[serde(alias = "session_assignments")]
    pub assignments: BTreeMap<String, String>,
}

/// One recipient's delivery.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delivery {
    pub to: String,
    pub delivered: bool,
    /// Its id in that recipient's inbox (what a reply names as `reply_to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `send_message_to_session`.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// `true` when every recipient got it.
    pub success: bool,
    /// `to` as given (`children`, `role:tester`, a name).
    pub target: String,
    pub kind: MessageKind,
    /// The id, when there is exactly one recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub delivered_count: usize,
    pub recipients: Vec<Delivery>,
    /// Store clock (ms).
    pub timestamp: i64,
    /// With `wait_for_response`: the reply, or `null` when the timeout passed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Option<Message>>,
    /// With `wait_for_response`: `received`, or `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The answer of `get_session_messages`.
#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    /// Whose inbox (always the caller's).
    pub session: String,
    pub count: usize,
    pub peek: bool,
    pub messages: Vec<Message>,
}

/// The answer of `wait_for_response`.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyWait {
    pub message_id: String,
    pub received: bool,
    /// `received` or `timeout`.
    pub status: &'static str,
    pub response: Option<Message>,
}

/// The answer of `coordinate_sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct Coordinated {
    pub success: bool,
    pub task_description: String,
    pub delivered_count: usize,
    pub failed_count: usize,
    /// One per assigned session, in name order.
    pub assignments: Vec<Assignment>,
    pub timestamp: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub session: String,
    pub subtask: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}
