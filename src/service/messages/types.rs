//! What the message operations take and answer: one type each, serialized as the tools
//! publish them.

use serde::Serialize;

use crate::domain::message::{Message, MessageKind};

/// What `send_message_to_session` asks for.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    /// A session name, `parent`, `children`, `role:<role>`, `project`, or `session:<name>`.
    /// May be left out for a `reply` (it goes to the sender of `reply_to`).
    pub to: Option<String>,
    pub message: String,
    /// `info` (default), `task`, `question` or `reply`.
    pub kind: Option<String>,
    pub reply_to: Option<String>,
    pub ttl_seconds: Option<i64>,
    /// Also set on the message (`wants_reply`) so the recipient knows an answer is awaited.
    pub wait_for_response: bool,
    pub timeout_seconds: Option<i64>,
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

/// What `get_session_messages` asks for.
#[derive(Debug, Clone, Default)]
pub struct ReadRequest {
    /// Default 20, at most 200.
    pub limit: Option<usize>,
    /// Long-poll up to this many seconds when nothing is unread (0 = answer now).
    pub wait_seconds: Option<i64>,
    pub peek: bool,
    /// Only these kinds (e.g. `task` for a Stop hook). Without `peek` they are taken out of
    /// the inbox and other kinds stay unread.
    pub kinds: Option<Vec<MessageKind>>,
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
