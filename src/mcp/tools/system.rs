//! `whoami`, `health_check` and `resume_grants`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde::Serialize;

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::ServiceError;
use crate::service::recovery::ResumeGrantsArgs;

#[derive(Debug, Serialize)]
struct WhoAmI {
    /// The session this connection acts as.
    session: String,
    /// `true` when the name was chosen (URL, header, register_session); `false` when generated.
    bound: bool,
    transport: &'static str,
    connection_id: String,
}

#[tool_router(router = system_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Who am I? Returns this connection's session name, whether it was bound on purpose or generated, the transport and the connection id. Locks and messages are always attributed to this identity.",
        annotations(read_only_hint = true)
    )]
    async fn whoami(&self) -> CallToolResult {
        let id = self.identity();
        respond(Ok::<_, ServiceError>(WhoAmI {
            session: id.session(),
            bound: id.is_explicit(),
            transport: id.transport(),
            connection_id: id.connection_id().to_string(),
        }))
    }

    #[tool(
        description = "Health of the coordination daemon: status ok|degraded, version, uptime, store kind, whether the store is reachable and its round-trip time, open MCP connections.",
        annotations(read_only_hint = true)
    )]
    async fn health_check(&self) -> CallToolResult {
        respond(Ok::<_, ServiceError>(self.coord().health().await))
    }

    #[tool(
        description = "Admin only: end the hold on lock grants that follows a store data loss (Redis restarted without persistence, flushed, or restored from an old backup), before it runs out by itself. Only do this when every session that held a lock before the loss is known to be gone or told; health_check shows the running hold (store.grants_held)."
    )]
    async fn resume_grants(
        &self,
        Parameters(args): Parameters<ResumeGrantsArgs>,
    ) -> CallToolResult {
        respond(self.coord().resume_grants(&self.caller(), &args).await)
    }
}
