//! Streamable HTTP at `/mcp`, served by rmcp's `StreamableHttpService`.
//!
//! One [`CoordServer`] per MCP session, so each session has its own identity. The idle
//! timeout is raised from rmcp's 5 minutes: agents sit idle for hours between prompts.

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::mcp::subscriptions::Hub;
use crate::mcp::{ConnectionIdentity, CoordServer};
use crate::service::Coordinator;

pub fn service(
    coord: Arc<Coordinator>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) -> StreamableHttpService<CoordServer, LocalSessionManager> {
    let server = &coord.settings().server;
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = match server.mcp_idle_timeout_seconds {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    let mut manager = LocalSessionManager::default();
    manager.session_config = session_config;
    let manager = Arc::new(manager);
    // A session is open while the manager still has it (a DELETE removes it at once).
    let sessions = manager.clone();
    let open_check: crate::mcp::identity::OpenCheck = Arc::new(move |id: &str| {
        sessions
            .sessions
            .try_read()
            .map(|s| s.contains_key(id))
            .unwrap_or(true)
    });

    // Host and Origin are checked by our own middleware for both transports alike.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_sse_keep_alive(Some(Duration::from_secs(server.sse_keep_alive_seconds)))
        .with_max_request_body_bytes(server.max_body_bytes)
        .with_cancellation_token(shutdown.child_token());

    let factory_coord = coord.clone();
    StreamableHttpService::new(
        move || {
            let identity = ConnectionIdentity::new(
                uuid::Uuid::new_v4().to_string(),
                "streamable-http",
                None,
                factory_coord.connections().open("streamable-http"),
            )
            .with_open_check(open_check.clone());
            Ok(CoordServer::new(factory_coord.clone(), identity).with_hub(hub.clone()))
        },
        manager,
        config,
    )
}
