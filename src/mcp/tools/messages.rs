//! `send_message_to_session`, `get_session_messages`, `wait_for_response` (seeds 000/002)
//! and `coordinate_sessions` (seed 003). The inbox read is always the caller's own: no
//! argument names an inbox.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::json;

use crate::domain::message::MessageKind;
use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::ServiceError;
use crate::service::locks::WaitContext;
use crate::service::messages::{ReadRequest, SendRequest};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinateArgs {
    /// The overall task every session works toward.
    pub task_description: String,
    /// Session name → its subtask. `session_assignments` is accepted too.
    #[serde(alias = "session_assignments")]
    pub assignments: BTreeMap<String, String>,
}

impl CoordServer {
    /// A wait that ends when the request is cancelled or the connection closes.
    pub(crate) fn wait_context(&self, ctx: &RequestContext<RoleServer>) -> WaitContext {
        let identity = self.identity().clone();
        WaitContext {
            cancel: ctx.ct.clone(),
            connection_open: Some(Arc::new(move || identity.is_open())),
            progress: None,
        }
    }
}

fn kinds(raw: Option<Vec<String>>) -> Result<Option<Vec<MessageKind>>, ServiceError> {
    raw.map(|ks| {
        ks.iter()
            .map(|k| MessageKind::parse(k.trim()).map_err(ServiceError::invalid))
            .collect::<Result<Vec<_>, _>>()
    })
    .transpose()
    .map(|k| k.filter(|k| !k.is_empty()))
}

#[tool_router(router = message_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Send a message to another session's inbox: to = a session name, parent, children, project (everyone in your project), or role:<role> (e.g. role:tester in your project). kind = info (default), task, question or reply (reply needs reply_to = the id of the message you answer; to may then be left out). You are stamped as the sender. Fan-outs report delivery per recipient. wait_for_response=true blocks until the reply arrives (or timeout_seconds, default 30) and returns it. Unknown or ended recipients are refused with a hint to list_sessions."
    )]
    async fn send_message_to_session(
        &self,
        Parameters(args): Parameters<SendArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let req = SendRequest {
            to: args.to,
            message: args.message,
            kind: args.kind,
            reply_to: args.reply_to,
            ttl_seconds: args.ttl_seconds,
            wait_for_response: args.wait_for_response,
            timeout_seconds: args.timeout_seconds,
        };
        let wait = self.wait_context(&ctx);
        respond(self.coord().send_message(&self.caller(), req, wait).await)
    }

    #[tool(
        description = "Your unread messages (your own inbox only), oldest first: each has id, from, kind (info|task|question|reply|status), body, reply_to, wants_reply, sent_at_ms; status messages (your children's report_session_status) carry state, progress, summary and final=true for done/failed. Marks them read unless peek=true. wait_seconds>0 waits for a message when none is unread (long-poll). Answer with send_message_to_session(kind=reply, reply_to=<id>, message=…)."
    )]
    async fn get_session_messages(
        &self,
        Parameters(args): Parameters<ReadArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let caller = self.caller();
        let result = async {
            let limit = match args.limit {
                None => None,
                Some(n) if n < 1 => {
                    return Err(ServiceError::invalid(format!(
                        "limit must be 1 to 200; got {n}"
                    )));
                }
                Some(n) => Some(n as usize),
            };
            let req = ReadRequest {
                limit,
                wait_seconds: args.wait_seconds,
                peek: args.peek,
                kinds: kinds(args.kinds)?,
            };
            let messages = self
                .coord()
                .read_inbox(&caller, req, self.wait_context(&ctx))
                .await?;
            Ok(json!({
                "session": caller.session,
                "count": messages.len(),
                "peek": args.peek,
                "messages": messages,
            }))
        }
        .await;
        respond(result)
    }

    #[tool(
        description = "Wait for the reply to a message you sent (message_id from send_message_to_session): returns {received, response} once a reply with reply_to = message_id arrives in your inbox, or received=false after timeout_seconds (default 30). A reply returned here is taken out of your inbox (get_session_messages will not show it again)."
    )]
    async fn wait_for_response(
        &self,
        Parameters(args): Parameters<WaitArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let result = self
            .coord()
            .wait_for_response(
                &self.caller(),
                &args.message_id,
                args.from,
                args.timeout_seconds,
                self.wait_context(&ctx),
            )
            .await
            .map(|reply| {
                json!({
                    "message_id": args.message_id.trim(),
                    "received": reply.is_some(),
                    "status": if reply.is_some() { "received" } else { "timeout" },
                    "response": reply,
                })
            });
        respond(result)
    }

    #[tool(
        description = "Hand out the parts of a task (seed 003): task_description plus assignments {session: subtask}; each session gets a task message (\"<task>\\n\\nYour part: <subtask>\") and the result says per session whether it was delivered. Children report back with report_session_status; wait for them with get_session_messages(wait_seconds=…) until each sent a status message with final=true."
    )]
    async fn coordinate_sessions(
        &self,
        Parameters(args): Parameters<CoordinateArgs>,
    ) -> CallToolResult {
        respond(
            self.coord()
                .coordinate_sessions(&self.caller(), &args.task_description, args.assignments)
                .await,
        )
    }
}
