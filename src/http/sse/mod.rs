//! Legacy MCP transport "HTTP with SSE" (protocol 2024-11-05), served with axum.
//!
//! rmcp dropped its legacy-SSE server in 0.11, but Claude Code's `--transport sse` still
//! speaks it, so we adapt it onto rmcp's [`Transport`](rmcp::transport::Transport) trait:
//!
//! 1. `GET /sse` opens a `text/event-stream`. Its first event is `endpoint`, whose data is the
//!    relative URI to POST to: `{message_path}?sessionId=<connection id>` (plus
//!    `&session=NAME` if the GET named a session). A fresh MCP service, built by the factory
//!    given to [`SseServer::new`], serves that connection.
//! 2. `POST {message_path}?sessionId=…` carries one JSON-RPC message. It is answered 202 at
//!    once; the service's reply arrives on the stream as an `event: message`.
//!
//! On top of the reference shape (rmcp 0.10's `SseServer`) this adapter binds the named
//! session at GET time and checks it on every POST, limits body size, bounds both queues
//! so a client that stops reading is disconnected instead of growing memory, and serves a
//! client that resumes without `initialize` after a daemon restart ([`resume`]).

mod config;
mod error;
mod handlers;
mod identity;
mod registry;
mod resume;
mod stream;
mod transport;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use futures::future::BoxFuture;
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

pub use config::SseConfig;
pub use identity::{SESSION_HEADER, SESSION_QUERY};

use registry::Registry;
use transport::SseTransport;

/// Path of the stream endpoint. Fixed: it is what clients are configured with.
pub const SSE_PATH: &str = "/sse";

/// What the adapter knows about a connection when its GET arrives; handed to the factory.
#[derive(Debug, Clone)]
pub struct SseConnectionInfo {
    /// Fresh UUID; also the `sessionId` the client must put on its POSTs.
    pub connection_id: String,
    /// Session named by `?session=NAME` or the `X-Coord-Session` header of the GET.
    pub requested_session: Option<String>,
    /// The GET request's method, URI, headers and extensions.
    pub parts: http::request::Parts,
}

/// Inserted, next to the POST's [`http::request::Parts`], into the rmcp extensions of every
/// inbound message, so a tool knows the connection's binding even when a POST carries no
/// `?session=` or header of its own (a POST inherits the GET's binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseSessionBinding {
    pub connection_id: String,
    pub session: Option<String>,
}

/// Starts the service of one connection; returns when that service has ended.
type Launcher = dyn Fn(&SseConnectionInfo, SseTransport, CancellationToken) -> BoxFuture<'static, ()>
    + Send
    + Sync;

/// State shared by the handlers of one [`SseServer`].
pub(crate) struct SseState {
    config: SseConfig,
    registry: Registry,
    launcher: Box<Launcher>,
    shutdown: CancellationToken,
}

/// Legacy-SSE MCP endpoint. A cheap `Clone` handle; all clones share the connections.
#[derive(Clone)]
pub struct SseServer {
    state: Arc<SseState>,
}

impl SseServer {
    /// Creates the endpoint. `factory` is called once per `GET /sse` to build that
    /// connection's handler; each connection's service runs under a child token of
    /// `shutdown`, so cancelling `shutdown` ends every stream and service.
    pub fn new<S, F>(config: SseConfig, factory: F, shutdown: CancellationToken) -> Self
    where
        S: rmcp::ServerHandler,
        F: Fn(&SseConnectionInfo) -> S + Send + Sync + 'static,
    {
        let launcher = move |info: &SseConnectionInfo,
                             mut transport: SseTransport,
                             ct: CancellationToken|
              -> BoxFuture<'static, ()> {
            let handler = factory(info);
            let connection_id = info.connection_id.clone();
            Box::pin(async move {
                let supported = handler.supported_protocol_versions();
                let Some(opening) = resume::opening(&mut transport, &supported).await else {
                    return;
                };
                let running = match opening {
                    resume::Opening::Handshake(first) => {
                        transport.pending = Some(first);
                        // Boxed: the handshake's future is large and needed once; inline,
                        // every idle connection would keep its room (~12 KB) for good.
                        match Box::pin(handler.serve_with_ct(transport, ct)).await {
                            Ok(running) => running,
                            // Mostly a client that disconnected (or sent garbage) before
                            // initializing.
                            Err(error) => {
                                tracing::info!(%connection_id, %error, "SSE connection never initialized");
                                return;
                            }
                        }
                    }
                    resume::Opening::Resumed(first, peer) => {
                        tracing::info!(
                            %connection_id,
                            protocol = %peer.protocol_version,
                            "SSE client resumed without initialize (the daemon restarted under it); serving it as initialized"
                        );
                        transport.pending = Some(first);
                        rmcp::service::serve_directly_with_ct(handler, transport, Some(*peer), ct)
                    }
                };
                if let Err(error) = running.waiting().await {
                    tracing::error!(%connection_id, %error, "SSE service task failed");
                }
            })
        };
        Self {
            state: Arc::new(SseState {
                config: config.normalized(),
                registry: Registry::default(),
                launcher: Box::new(launcher),
                shutdown,
            }),
        }
    }

    /// `GET /sse` and `POST {message_path}`, ready for `Router::merge` (or `nest`: the
    /// announced endpoint then includes the nesting prefix).
    pub fn router(&self) -> Router {
        Router::new()
            .route(SSE_PATH, get(handlers::open_stream))
            .route(
                &self.state.config.message_path,
                post(handlers::post_message),
            )
            .layer(DefaultBodyLimit::max(self.state.config.max_body_bytes))
            .with_state(self.state.clone())
    }

    /// Number of live connections (streams whose service has not ended).
    pub fn open_connections(&self) -> usize {
        self.state.registry.len()
    }
}
