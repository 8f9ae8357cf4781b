//! `whoami` and `health_check`.

use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde::Serialize;

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::ServiceError;

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
}
