//! Every MCP tool, one file per capability; each file has its own `#[tool_router]` block
//! and [`all`] joins them.

mod admin;
mod audit;
mod claude;
mod locks;
mod messages;
mod sessions;
mod system;
mod tasks;
mod tmux;
mod tokens;

use rmcp::handler::server::router::tool::ToolRouter;

use super::CoordServer;

/// The full tool set (built once per process).
pub fn all() -> ToolRouter<CoordServer> {
    let mut router = CoordServer::system_tools();
    // One entry per capability (more join as they land).
    for extra in [
        CoordServer::lock_tools(),
        CoordServer::message_tools(),
        CoordServer::session_tools(),
        CoordServer::tmux_tools(),
        CoordServer::claude_tools(),
        CoordServer::token_tools(),
        CoordServer::admin_tools(),
        CoordServer::audit_tools(),
        CoordServer::task_tools(),
    ] {
        router.merge(extra);
    }
    router
}
