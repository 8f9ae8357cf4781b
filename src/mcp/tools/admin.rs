//! `admin_release_lock`, `admin_end_session`, `admin_read_inbox`, `admin_kill_session`: what
//! only an admin token may do (issue 16; `ADMIN_TOOLS` hides them from other roles) — what
//! `mcp-coord admin …` calls. The use-cases are `service/admin`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::ServiceError;
use crate::service::admin::{
    Admin, AdminEndSessionArgs, AdminInboxArgs, AdminKillSessionArgs, AdminReleaseLockArgs,
};

impl CoordServer {
    /// This request's caller as an admin (refused unless its token has the admin role).
    fn admin(&self, ctx: &RequestContext<RoleServer>) -> Result<Admin, ServiceError> {
        let principal =
            crate::mcp::roles::principal_of(ctx.extensions.get::<http::request::Parts>());
        Admin::new(self.caller(), principal)
    }
}

#[tool_router(router = admin_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Admin: force-release a lock whoever holds it (admin_release_lock(\"pytest\", reason=\"stuck run\")). The holder is told in its inbox and by its next check_lock/release_lock; for locks.lock_delay_seconds nobody (not even the old holder) is granted it, then its waiters in queue order. Audited."
    )]
    async fn admin_release_lock(
        &self,
        Parameters(args): Parameters<AdminReleaseLockArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        match self.admin(&ctx) {
            Ok(admin) => respond(self.coord().admin_release_lock(&admin, args).await),
            Err(e) => respond::<()>(Err(e)),
        }
    }

    #[tool(
        description = "Admin: end any live session now, as if it had ended itself: it is told in its inbox first, its locks are released (with a lock-delay: nobody gets them for locks.lock_delay_seconds, since it may still be running), its claimed tasks are handed back. Its tmux pane, if any, keeps running: admin_kill_session stops that. Audited."
    )]
    async fn admin_end_session(
        &self,
        Parameters(args): Parameters<AdminEndSessionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        match self.admin(&ctx) {
            Ok(admin) => respond(self.coord().admin_end_session(&admin, args).await),
            Err(e) => respond::<()>(Err(e)),
        }
    }

    #[tool(
        description = "Admin: look at any session's unread messages, oldest first. A peek: nothing is marked read, the session still gets every message. Audited (who looked, not what).",
        annotations(read_only_hint = true)
    )]
    async fn admin_read_inbox(
        &self,
        Parameters(args): Parameters<AdminInboxArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        match self.admin(&ctx) {
            Ok(admin) => respond(self.coord().admin_read_inbox(&admin, args).await),
            Err(e) => respond::<()>(Err(e)),
        }
    }

    #[tool(
        description = "Admin: kill any child's tmux session (spawned by create_session), whoever its parent: its program gets SIGHUP, its coordination session is ended, its locks released with a lock-delay. Audited."
    )]
    async fn admin_kill_session(
        &self,
        Parameters(args): Parameters<AdminKillSessionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        match self.admin(&ctx) {
            Ok(admin) => respond(self.coord().admin_kill_session(&admin, args).await),
            Err(e) => respond::<()>(Err(e)),
        }
    }
}
