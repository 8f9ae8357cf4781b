//! `token_create`, `token_list`, `token_revoke`: bearer tokens (issue 16), admin only — what
//! `mcp-coord token …` calls.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::tokens::{CreateTokenArgs, RevokeTokenArgs};

#[tool_router(router = token_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Admin: create a bearer token with a role (admin, agent, observer) and optional session-name patterns (sessions=[\"child_web_*\"]). Returns the token once; only its hash is kept."
    )]
    async fn token_create(&self, Parameters(args): Parameters<CreateTokenArgs>) -> CallToolResult {
        respond(self.coord().create_token(args).await)
    }

    #[tool(
        description = "Admin: every token's id, role, session patterns, label and creation time (never the secret).",
        annotations(read_only_hint = true)
    )]
    async fn token_list(&self) -> CallToolResult {
        respond(self.coord().list_tokens().await)
    }

    #[tool(
        description = "Admin: revoke a token by its id (tok_…); requests with it get 401 from then on."
    )]
    async fn token_revoke(&self, Parameters(args): Parameters<RevokeTokenArgs>) -> CallToolResult {
        respond(self.coord().revoke_token(args).await)
    }
}
