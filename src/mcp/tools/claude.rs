//! `bind_session`: the identity handshake with Claude Code.
//!
//! Installed as a UserPromptSubmit `mcp_tool` hook
//! (`{"type":"mcp_tool","server":"coordination","tool":"bind_session","input":{"session_id":"${session_id}"}}`),
//! so Claude calls it on the agent's own MCP connection with its real session id, and the
//! connection becomes the session the SessionStart hook registered — no help from the model.
//!
//! Precedence (README "Use with Claude Code"): a name given on the connection's URL or
//! header > `bind_session` (this) > `register_session(name)` > a generated name. A
//! URL/header-bound connection keeps its name; the answer says so (never an error: a
//! failing hook would show up in the user's prompt).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Extensions};
use rmcp::{tool, tool_router};
use serde::Serialize;

use crate::domain::session_name;
use crate::mcp::CoordServer;
use crate::mcp::identity::requested_session;
use crate::mcp::respond::respond;
use crate::service::ServiceError;
use crate::service::hooks::BindArgs;

#[derive(Debug, Serialize)]
struct Bound {
    /// The session this connection acts as now.
    session: String,
    /// `true` when this call changed the binding.
    changed: bool,
    /// How the name was chosen: `url_or_header` (kept), `hook` (registered by the
    /// SessionStart hook for this Claude session) or `claude_session_id` (no hook
    /// registration known; Claude's id is the name, as the hook would have chosen).
    source: &'static str,
    message: String,
}

#[tool_router(router = claude_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Bind this MCP connection to the coordination session that Claude Code's hooks registered for Claude session `session_id`. Called automatically by the UserPromptSubmit hook that `mcp-coord hooks install` sets up; you do not need to call it yourself. A connection bound by URL (?session=) or X-Coord-Session header keeps that name.",
        annotations(idempotent_hint = true)
    )]
    async fn bind_session(
        &self,
        Parameters(args): Parameters<BindArgs>,
        extensions: Extensions,
    ) -> CallToolResult {
        let before = self.identity().session();
        let was_generated = !self.identity().is_explicit();
        let result = self
            .bind_claude_session(&args.session_id, &extensions)
            .await;
        if let Ok(bound) = &result
            && bound.changed
        {
            // The bound session is active from now on; a generated session this connection
            // used before has nobody left to act for it: end it rather than leave a ghost.
            if let Err(e) = self.coord().touch(&self.caller()).await {
                tracing::debug!("bind_session: heartbeat not recorded: {e}");
            }
            if was_generated && before != bound.session {
                let reason = format!("replaced: its connection bound to {}", bound.session);
                if let Err(e) = self.coord().end_named(&before, &reason, None).await {
                    tracing::debug!("bind_session: could not end {before}: {e}");
                }
            }
        }
        respond(result)
    }
}

impl CoordServer {
    /// The `mcp_tool` hook's call arrives on the agent's own connection, carrying the
    /// Claude id its hooks (which hold the session's credential) bound to `session`: that
    /// proves this connection is `session` — unless another open connection of this daemon
    /// bound that Claude id first (the id is no secret).
    fn prove_by_binding(&self, claude_id: &str, session: &str) -> Result<(), ServiceError> {
        // A token limited to session patterns binds to none outside them.
        self.caller()
            .principal
            .check_session(session)
            .map_err(ServiceError::forbidden)?;
        let weak = std::sync::Arc::downgrade(self.identity());
        let is_open: crate::service::claude_bindings::IsOpen =
            std::sync::Arc::new(move || weak.upgrade().is_some_and(|i| i.is_open()));
        self.coord()
            .bound_connections()
            .bind(claude_id, self.identity().connection_id(), is_open)
            .map_err(|other| {
                ServiceError::new(
                    crate::service::claims::REFUSED,
                    format!(
                        "Claude session {claude_id} is already bound to another open MCP connection ({other}) \
                         as session {session}; one Claude session has one connection. Open your own session \
                         (another name), or present {session}'s credential in X-Coord-Credential"
                    ),
                )
                .with_details(serde_json::json!({ "session": session }))
            })?;
        self.identity().set_proven(session);
        Ok(())
    }

    async fn bind_claude_session(
        &self,
        claude_id: &str,
        ext: &Extensions,
    ) -> Result<Bound, ServiceError> {
        let claude_id = claude_id.trim();
        session_name::validate(claude_id).map_err(|e| {
            ServiceError::invalid(format!("session_id: {e}; pass Claude's ${{session_id}}"))
        })?;
        let current = self.identity().session();
        let pinned = ext
            .get::<http::request::Parts>()
            .and_then(|p| requested_session(p).ok().flatten());
        let registered = self.coord().claude_session(claude_id).await;
        if let Some(name) = pinned {
            // The hooks registered this Claude session under the same name: the connection
            // is that session (the hooks proved it with their credential).
            if registered.as_deref() == Some(name.as_str()) {
                self.prove_by_binding(claude_id, &name)?;
            }
            return Ok(Bound {
                message: format!(
                    "this connection is bound to session {name} by its URL/header, which takes precedence; kept"
                ),
                session: name,
                changed: false,
                source: "url_or_header",
            });
        }
        let (target, source) = match registered {
            Some(name) => {
                self.prove_by_binding(claude_id, &name)?;
                (name, "hook")
            }
            // No hook registered it: the name is Claude's id, and the claim check of the
            // next tool call decides whether this connection may act as it.
            None => (claude_id.to_string(), "claude_session_id"),
        };
        self.caller()
            .principal
            .check_session(&target)
            .map_err(ServiceError::forbidden)?;
        let changed = target != current || !self.identity().is_explicit();
        if changed {
            self.identity().bind(target.clone());
        }
        Ok(Bound {
            message: format!("this connection acts as session {target}"),
            session: target,
            changed,
            source,
        })
    }
}
