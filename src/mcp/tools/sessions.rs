//! Session tools: registration and binding, heartbeat, tiers, hierarchy, status reports.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Extensions};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::Caller;
use crate::service::children::WaitChildrenArgs;
use crate::service::sessions::{
    ChildrenArgs, ListSessionsArgs, RegisterArgs, RelationshipArgs, ReportArgs, SessionArgs,
};

#[tool_router(router = session_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Register this session and bind this connection to it. Give name=… to choose the name (e.g. master_project_web, or child_web_task_3 whose parent master_project_web is then found by the name; parent=… overrides). Idempotent for the same connection; refused when another connection is actively using the name, or when this connection is already bound to a different name. Also takes role, project, task, branch, cwd and a metadata object. Every later tool call of this connection counts as a heartbeat."
    )]
    async fn register_session(
        &self,
        Parameters(args): Parameters<RegisterArgs>,
        extensions: Extensions,
    ) -> CallToolResult {
        // Switching from a generated name to a chosen one: that name's claim first.
        let target = args
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty() && *n != self.identity().session());
        if let Some(name) = target.filter(|_| !self.identity().is_explicit()) {
            let as_target = Caller {
                session: name.to_string(),
                ..self.caller()
            };
            let presented = self
                .identity()
                .presented_credential(extensions.get::<http::request::Parts>());
            if let Err(e) = self
                .coord()
                .claim_session(&as_target, presented.as_deref())
                .await
            {
                return respond::<()>(Err(e));
            }
            self.identity().set_proven(name);
        }
        let result = self
            .coord()
            .register_session(&self.caller(), self.identity().is_explicit(), args)
            .await;
        if let Ok(registered) = &result {
            self.identity().bind(registered.session.name.clone());
        }
        respond(result)
    }

    #[tool(
        description = "Make child_session a child of master_session (seed 000). Call it from either of the two. A child that has not connected yet is registered on its behalf. Refused past sessions.max_children or sessions.max_depth."
    )]
    async fn register_session_relationship(
        &self,
        Parameters(args): Parameters<RelationshipArgs>,
    ) -> CallToolResult {
        respond(self.coord().relate_sessions(&self.caller(), &args).await)
    }

    #[tool(
        description = "Mark this session active now and return it. Rarely needed: every tool call already counts as a heartbeat."
    )]
    async fn heartbeat(&self) -> CallToolResult {
        respond(self.coord().heartbeat(&self.caller()).await)
    }

    #[tool(
        description = "Every live session grouped by tier: active (recent activity), idle (locks refused to others with a warning), stale (locks may be taken over with force), abandoned (about to be ended and its locks freed). Includes the thresholds in seconds.",
        annotations(read_only_hint = true)
    )]
    async fn session_status(&self) -> CallToolResult {
        respond(self.coord().session_status().await)
    }

    #[tool(
        description = "List sessions: {sessions, total_count, active_count}. Each has name, role, parent, tier, status (the tier or ended), is_active, last activity, reported state/progress/summary. include_ended=true adds ended sessions still kept.",
        annotations(read_only_hint = true)
    )]
    async fn list_sessions(
        &self,
        Parameters(args): Parameters<ListSessionsArgs>,
    ) -> CallToolResult {
        respond(self.coord().list_sessions(&args).await)
    }

    #[tool(
        description = "One session in detail: tier, last activity, reported status, its last 10 status reports and its children. Argument: session (or session_id).",
        annotations(read_only_hint = true)
    )]
    async fn get_session_status(
        &self,
        Parameters(args): Parameters<SessionArgs>,
    ) -> CallToolResult {
        respond(self.coord().get_session_status(&args).await)
    }

    #[tool(
        description = "Children of a session (default: yours) with tier, state, progress, summary and last activity; ended children are listed with status ended until retention deletes them.",
        annotations(read_only_hint = true)
    )]
    async fn get_child_sessions(
        &self,
        Parameters(args): Parameters<ChildrenArgs>,
    ) -> CallToolResult {
        respond(self.coord().child_sessions(&self.caller(), args).await)
    }

    #[tool(
        description = "Wait until every one of your children is final — it reported done or failed (report_session_status), or ended — or timeout_seconds pass (default 300). Returns all_final, pending (who is still working) and each child's last state and summary. Use it instead of polling get_child_sessions.",
        annotations(read_only_hint = true)
    )]
    async fn wait_for_children(
        &self,
        Parameters(args): Parameters<WaitChildrenArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let wait = self.wait_context(&ctx);
        respond(
            self.coord()
                .wait_for_children(&self.caller(), args, wait)
                .await,
        )
    }

    #[tool(
        description = "Report your status to your parent: state (starting|working|blocked|waiting|idle|done|failed), progress 0-100, a one-line summary. Stored on your session, kept in a capped history, shown by get_child_sessions."
    )]
    async fn report_session_status(
        &self,
        Parameters(args): Parameters<ReportArgs>,
    ) -> CallToolResult {
        respond(
            self.coord()
                .report_session_status(&self.caller(), args)
                .await,
        )
    }

    #[tool(
        description = "End your session now (when your work is done). It stays listable with include_ended for a while. A later tool call on this connection registers it again."
    )]
    async fn end_session(&self) -> CallToolResult {
        respond(self.coord().end_session(&self.caller()).await)
    }
}
