//! `audit_log`: the audit log, for people and admins looking back at what happened.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::audit::types::AuditLogArgs;

#[tool_router(router = audit_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "The audit log: who changed what and when, and who was refused — lock grants, releases, takeovers, refusals, messages (kind and parties only, never bodies), session registrations and ends, spawns, kills, keys sent. Filter by since (e.g. 15m, 1h, 2d; default 1h), session (entries naming it) and kind (e.g. lock_refused); returns the newest `limit` entries (default 200), oldest first.",
        annotations(read_only_hint = true)
    )]
    async fn audit_log(&self, Parameters(args): Parameters<AuditLogArgs>) -> CallToolResult {
        respond(self.coord().audit_log(&self.caller(), args).await)
    }
}
