//! `ServerHandler` for [`CoordServer`]: handshake, identity checks, and the one place every
//! tool call passes through (timing, logging, implicit heartbeat).

use std::borrow::Cow;
use std::time::Instant;

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CustomRequest, CustomResult, DiscoverResult,
    ErrorCode, Implementation, InitializeRequestParams, InitializeResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::CoordServer;
use super::identity::requested_session;
use super::peer_process::{self, PeerAddrs};
use super::resources;
use super::respond::refuse;
use crate::service::metrics::Outcome;
use crate::service::{ServiceError, audit, rate_limit};

const INSTRUCTIONS: &str = "Coordination between coding-agent sessions on this machine. \
Take acquire_lock(\"pytest\") before running the test suite and acquire_lock(\"pr-create\") \
before opening a PR; release_lock when done. acquire_lock(\"work\") claims the issue named by \
your git branch. whoami shows who you are to the others. register_session(name=…) names \
your session (master_project_<p> / child_<p>_task_<t> link parent and child); \
report_session_status tells your parent how you are doing; end_session when done. \
send_message_to_session(to=…) writes to another session's inbox (to=parent, children, project, \
role:<role> reach several); get_session_messages reads yours (wait_seconds=… to wait for one). \
Resources coord://sessions, coord://locks, coord://inbox can be subscribed to.";

/// Tools that mark the session active themselves (so the implicit heartbeat would be a
/// second write), or must not register the caller's current name first.
const OWN_HEARTBEAT: &[&str] = &[
    "register_session",
    "heartbeat",
    "end_session",
    "bind_session",
];

impl CoordServer {
    /// Every tool call counts as activity of the calling session (registering it the first
    /// time). At most one store write per debounce interval per connection; a failure is
    /// logged and does not fail the call (the tool reports store trouble itself), and is
    /// not retried before the interval passes, so an outage does not double every call's wait.
    async fn implicit_heartbeat(&self, tool: &str) {
        if OWN_HEARTBEAT.contains(&tool) {
            return;
        }
        let caller = self.caller();
        if self.identity().is_explicit() && !self.identity().is_proven(&caller.session) {
            return;
        }
        let every = self.coord().heartbeat_debounce();
        if !self.identity().touch_due(&caller.session, every) {
            return;
        }
        if let Err(e) = self.coord().touch(&caller).await {
            tracing::debug!(session = %caller.session, "implicit heartbeat not recorded: {e}");
        }
    }
}

impl CoordServer {
    /// The metrics label of a tool: only known names, so a client cannot mint series.
    fn tool_label<'a>(&self, tool: &'a str) -> &'a str {
        if self.tools.get(tool).is_some() {
            tool
        } else {
            "unknown"
        }
    }

    /// A connection not bound to a session yet, from a Claude Code process whose hooks
    /// registered one, becomes that session (`peer_process.rs` says why and how).
    async fn bind_to_claude_process(&self, context: &RequestContext<RoleServer>) {
        let Some(addrs) = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<PeerAddrs>())
            .copied()
        else {
            return;
        };
        let known = self.coord().claude_processes().all();
        if known.is_empty() {
            return;
        }
        let pids: Vec<u32> = known.iter().map(|(pid, _)| *pid).collect();
        let found = tokio::task::spawn_blocking(move || peer_process::owner(addrs, &pids))
            .await
            .ok()
            .flatten();
        let Some(session) = found.and_then(|pid| {
            known
                .into_iter()
                .find(|(p, _)| *p == pid)
                .map(|(_, name)| (pid, name))
        }) else {
            return;
        };
        let (pid, name) = session;
        tracing::info!(session = %name, claude_pid = pid, "connection bound to the session of its Claude Code process");
        // Its hooks proved themselves (issue 16) before the process was noted: the
        // connection from that process is the session.
        self.identity().set_proven(&name);
        self.identity().bind(name);
    }
}

impl CoordServer {
    /// A call outside the token's role or session patterns (or with a second token on one
    /// connection) is an `auth_refused` audit entry, at most one per connection and tool every
    /// 10 s. (Claim refusals are audited by the claim check itself, as `session_claim`.)
    fn audit_forbidden(
        &self,
        refused: &ServiceError,
        tool: &str,
        principal: &crate::domain::auth::Principal,
        context: &RequestContext<RoleServer>,
    ) {
        if refused.code != "forbidden" {
            return;
        }
        let caller = self.caller();
        let gate = format!("forbidden:{}:{tool}", caller.connection_id);
        if !self.coord().rate_limits().audit_due(&gate) {
            return;
        }
        let mut entry = audit::AuditRecord::of("auth_refused", audit::REFUSED)
            .session(caller.session.as_str())
            .detail(format!("forbidden {tool}"));
        entry.by = Some(self.audit_actor(principal, context));
        self.coord().audit().record(entry);
    }

    /// Who this connection is, for the audit log: its caller, peer address and token id.
    fn audit_actor(
        &self,
        principal: &crate::domain::auth::Principal,
        context: &RequestContext<RoleServer>,
    ) -> audit::AuditActor {
        let peer = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<PeerAddrs>())
            .map(|p| p.peer.to_string());
        audit::AuditActor {
            token: principal.token_id.clone(),
            ..audit::actor(&self.caller(), peer)
        }
    }
}

impl ServerHandler for CoordServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_resources_subscribe()
                .build(),
        )
        .with_server_info(Implementation::new("mcp-coord", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    /// Sessions (and with them per-connection identity) exist up to 2025-11-25; the
    /// 2026-07-28 revision is sessionless, so we do not offer it.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25))
    }

    /// New clients probe with `server/discover` before `initialize`. Answering it would
    /// steer them to the sessionless revision; a "method not found" sends them to
    /// `initialize`, which is what we want (and what DESIGN.md promises).
    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            "server/discover is not supported; send initialize (protocol 2024-11-05 to 2025-11-25)",
            None,
        ))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        if let Some(parts) = context.extensions.get::<http::request::Parts>() {
            match requested_session(parts) {
                Ok(Some(name)) if !self.identity().is_explicit() => self.identity().bind(name),
                Ok(_) => {}
                Err(e) => return Err(ErrorData::invalid_params(e.to_string(), None)),
            }
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let tool = request.name.clone();
        if let Some(parts) = context.extensions.get::<http::request::Parts>()
            && let Ok(Some(asked)) = requested_session(parts)
            && self.identity().is_explicit()
            && asked != self.identity().session()
        {
            return Err(ErrorData::invalid_request(
                format!(
                    "this connection is bound to session {}, but the request names {asked}; \
                     open a new connection to act as another session",
                    self.identity().session()
                ),
                None,
            ));
        }
        if let Some(parts) = context.extensions.get::<http::request::Parts>()
            && let Some(id) = parts
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            self.identity().note_transport_session(id);
        }
        if !self.identity().is_explicit() {
            self.bind_to_claude_process(&context).await;
        }
        let principal =
            super::roles::principal_of(context.extensions.get::<http::request::Parts>());
        let noted = self
            .identity()
            .note_principal(&principal)
            .map_err(ServiceError::forbidden);
        let gate = match noted.and_then(|()| self.check_role(&principal, &tool)) {
            Err(e) => Err(e),
            // An admin token may act as any session (issue 16): no claim check.
            Ok(()) if principal.is_admin() || super::claim::UNCHECKED.contains(&tool.as_ref()) => {
                Ok(())
            }
            Ok(()) => {
                self.check_claim(context.extensions.get::<http::request::Parts>())
                    .await
            }
        };
        if let Err(refused) = gate {
            self.audit_forbidden(&refused, &tool, &principal, &context);
            let result = super::respond::refuse(refused);
            self.coord().metrics().tool_call(
                self.tool_label(&tool),
                Outcome::refused,
                started.elapsed(),
            );
            return Ok(CallToolResponse::Complete(result));
        }
        let caller = self.caller();
        // Everything this call changes is audited as done by this connection.
        let actor = self.audit_actor(&principal, &context);
        let result = audit::acting_as(actor, async {
            // Legacy SSE answers the POST 202 before the call runs, so its rate limit is a
            // tool error here (Streamable HTTP got a 429 at the edge: http/rate_limit.rs).
            let rate_key = rate_limit::key(caller.token_id(), &caller.connection_id);
            if caller.transport == "sse"
                && let Err(limited) = self.coord().rate_limits().check_connection(&rate_key)
            {
                let limits = self.coord().rate_limits();
                limits.audit(self.coord().audit(), &rate_key, Some(&caller.session));
                return Ok(CallToolResponse::Complete(refuse(limited.to_error())));
            }
            self.implicit_heartbeat(&tool).await;
            let tcc = ToolCallContext::new(self, request, context);
            self.tools.call(tcc).await
        })
        .await;
        let outcome = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => Outcome::refused,
            Ok(_) => Outcome::ok,
            Err(_) => Outcome::error,
        };
        let duration = started.elapsed();
        self.coord()
            .metrics()
            .tool_call(self.tool_label(&tool), outcome, duration);
        tracing::debug!(
            tool = %tool,
            caller = %self.identity().session(),
            transport = self.identity().transport(),
            duration_us = duration.as_micros() as u64,
            outcome = ?outcome,
            "tool call"
        );
        result
    }

    /// A known method whose params did not parse is invalid params, not "not found".
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        Err(super::malformed::error_for(&request))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // Each role sees only the tools it may call.
        let principal =
            super::roles::principal_of(context.extensions.get::<http::request::Parts>());
        Ok(ListToolsResult {
            tools: self
                .tools
                .list_all()
                .into_iter()
                .filter(|t| principal.may_call(&t.name))
                .collect(),
            ..Default::default()
        })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(resources::list())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        // coord://inbox reads this session's messages: only as a session it may act as.
        self.check_claim(context.extensions.get::<http::request::Parts>())
            .await
            .map_err(|e| ErrorData::invalid_request(e.message, Some(e.details)))?;
        Ok(self.read_resource_uri(&request.uri).await?.into())
    }

    /// `resources/subscribe` (up to protocol 2025-11-25, the ones we speak): recorded in the
    /// daemon's hub with this connection's peer; `notifications/resources/updated` follows
    /// each change.
    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !resources::known(&request.uri) {
            return Err(resources::unknown(&request.uri));
        }
        // Hearing when this session's inbox changes is reading about it: only as a session
        // the connection may act as (like read_resource).
        if request.uri == resources::INBOX {
            self.check_claim(context.extensions.get::<http::request::Parts>())
                .await
                .map_err(|e| ErrorData::invalid_request(e.message, Some(e.details)))?;
        }
        let Some(hub) = self.hub() else {
            return Err(ErrorData::internal_error(
                "resource subscriptions are not available on this server",
                None,
            ));
        };
        hub.subscribe(self.identity().clone(), context.peer.clone(), &request.uri);
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if let Some(hub) = self.hub() {
            hub.unsubscribe(self.identity().connection_id(), &request.uri);
        }
        Ok(())
    }
}
