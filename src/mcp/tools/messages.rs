//! `send_message_to_session`, `get_session_messages`, `wait_for_response` (seeds 000/002)
//! and `coordinate_sessions` (seed 003). The inbox read is always the caller's own: no
//! argument names an inbox.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::messages::{CoordinateArgs, ReadArgs, SendArgs, WaitArgs};

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
        let wait = self.wait_context(&ctx);
        respond(self.coord().send_message(&self.caller(), args, wait).await)
    }

    #[tool(
        description = "Your unread messages (your own inbox only), oldest first: each has id, from, kind (info|task|question|reply|status), body, reply_to, wants_reply, sent_at_ms; status messages (your children's report_session_status) carry state, progress, summary and final=true for done/failed. Marks them read unless peek=true. wait_seconds>0 waits for a message when none is unread (long-poll). Answer with send_message_to_session(kind=reply, reply_to=<id>, message=…)."
    )]
    async fn get_session_messages(
        &self,
        Parameters(args): Parameters<ReadArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let wait = self.wait_context(&ctx);
        respond(self.coord().read_inbox(&self.caller(), args, wait).await)
    }

    #[tool(
        description = "Wait for the reply to a message you sent (message_id from send_message_to_session): returns {received, response} once a reply with reply_to = message_id arrives in your inbox, or received=false after timeout_seconds (default 30). A reply returned here is taken out of your inbox (get_session_messages will not show it again)."
    )]
    async fn wait_for_response(
        &self,
        Parameters(args): Parameters<WaitArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let wait = self.wait_context(&ctx);
        respond(
            self.coord()
                .wait_for_response(&self.caller(), args, wait)
                .await,
        )
    }

    #[tool(
        description = "Hand out the parts of a task (seed 003): task_description plus assignments {session: subtask}; each session gets a task message (\"<task>\\n\\nYour part: <subtask>\") and the result says per session whether it was delivered. Children report back with report_session_status; wait for them with get_session_messages(wait_seconds=…) until each sent a status message with final=true."
    )]
    async fn coordinate_sessions(
        &self,
        Parameters(args): Parameters<CoordinateArgs>,
    ) -> CallToolResult {
        respond(self.coord().coordinate_sessions(&self.caller(), args).await)
    }
}
