//! Streamable HTTP at `/mcp`: rmcp's `StreamableHttpService` speaks the protocol, over our
//! own in-memory session manager ([`sessions::HttpSessions`]).
//!
//! One [`CoordServer`] per MCP session, so each session has its own identity. The idle
//! timeout is far above rmcp's 5 minutes: agents sit idle for hours between prompts.

mod error;
mod outlet;
mod router;
mod session;
mod sessions;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::mcp::subscriptions::Hub;
use crate::mcp::{ConnectionIdentity, CoordServer};
use crate::service::Coordinator;

pub use sessions::HttpSessions;

pub fn service(
    coord: Arc<Coordinator>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) -> StreamableHttpService<CoordServer, HttpSessions> {
    let server = &coord.settings().server;
    let idle_timeout = match server.mcp_idle_timeout_seconds {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    let retry = StreamableHttpServerConfig::default().sse_retry;
    let manager = Arc::new(HttpSessions::new(
        idle_timeout,
        retry,
        shutdown.child_token(),
    ));
    // A session is open while the manager still has it (a DELETE removes it at once).
    let sessions = manager.clone();
    let open_check: crate::mcp::identity::OpenCheck =
        Arc::new(move |id: &str| sessions.contains(id));

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
