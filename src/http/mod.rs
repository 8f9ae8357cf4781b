//! The axum router: `/sse` + `/message` (legacy SSE), `/mcp` (Streamable HTTP), `/health`,
//! `/metrics`, `/hooks/claude`, `/session/claim`, `/events`, the dashboard (`/`, `/login`, `/logout`), and the guards every route passes (Origin/Host, session name).

pub mod auth;
pub mod claims;
pub mod dashboard;
pub mod events;
pub mod guard;
pub mod health;
pub mod hooks;
pub mod listener;
pub mod login;
pub mod metrics;
pub mod peer;
pub mod rate_limit;
pub mod serve;
pub mod sse;
pub mod streamable;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::mcp::delivery::HungUp;
use crate::mcp::subscriptions::Hub;
use crate::mcp::{ConnectionIdentity, CoordServer};
use crate::service::Coordinator;

/// Builds the whole HTTP surface of the daemon.
pub fn router(coord: Arc<Coordinator>, shutdown: CancellationToken) -> Router {
    let settings = coord.settings().clone();
    // One subscription registry for both transports.
    let hub = Hub::start(&coord, shutdown.clone());
    let logins = login::LoginState {
        coord: coord.clone(),
        logins: Arc::new(login::WebLogins::default()),
    };
    let mcp = Router::new()
        .nest_service(
            "/mcp",
            streamable::service(coord.clone(), hub.clone(), shutdown.clone()),
        )
        .merge(legacy_sse(coord.clone(), hub, shutdown.clone()).router())
        .layer(axum::middleware::from_fn(guard::session_name))
        .layer(axum::middleware::from_fn(peer::mark_hang_up));

    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .route("/events", get(events::events))
        .route(
            "/hooks/claude",
            axum::routing::post(hooks::claude).layer(axum::extract::DefaultBodyLimit::max(
                settings.server.max_body_bytes,
            )),
        )
        .route("/session/claim", axum::routing::post(claims::claim))
        .route(
            "/hooks/claude/wait",
            axum::routing::post(hooks::wait).layer(axum::extract::DefaultBodyLimit::max(
                settings.server.max_body_bytes,
            )),
        )
        .route(
            "/hooks/claude/claim",
            axum::routing::post(hooks::claim).layer(axum::extract::DefaultBodyLimit::max(
                settings.server.max_body_bytes,
            )),
        )
        .with_state(coord.clone())
        .merge(dashboard::routes(logins.clone(), shutdown.clone()))
        .layer(axum::Extension(events::StreamStop(shutdown)))
        .merge(mcp)
        // Rate limits per token (else per connection or address): inside the authentication,
        // which finds the token's principal first.
        .layer(axum::middleware::from_fn_with_state(
            coord,
            rate_limit::limit,
        ))
        // Every route but /health: who is calling (bearer token, or local without one).
        .layer(axum::middleware::from_fn_with_state(
            logins,
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard::OriginPolicy::from_settings(&settings.server)),
            guard::origin_and_host,
        ))
}

/// The legacy SSE transport; one [`CoordServer`] per stream, bound at GET time.
fn legacy_sse(
    coord: Arc<Coordinator>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) -> sse::SseServer {
    let server = &coord.settings().server;
    let config = sse::SseConfig {
        keep_alive: Duration::from_secs(server.sse_keep_alive_seconds),
        outbound_queue: server.sse_queue,
        max_body_bytes: server.max_body_bytes,
        ..sse::SseConfig::default()
    };
    sse::SseServer::new(
        config,
        move |info: &sse::SseConnectionInfo| {
            let stream_hung_up = info.parts.extensions.get::<HungUp>().cloned();
            // The SSE connection id is a capability (POST /message?sessionId=… acts on that
            // connection), so the identity — shown by whoami, kept in session records and the
            // audit log — gets an opaque id of its own.
            let identity = ConnectionIdentity::new(
                uuid::Uuid::new_v4().to_string(),
                "sse",
                info.requested_session.clone(),
                coord.connections().open("sse"),
            )
            .with_stream_hung_up(stream_hung_up)
            .with_opening_credential(crate::mcp::identity::credential_header(&info.parts));
            CoordServer::new(coord.clone(), identity).with_hub(hub.clone())
        },
        shutdown,
    )
}
