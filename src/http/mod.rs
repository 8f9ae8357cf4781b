//! The axum router: `/sse` + `/message` (legacy SSE), `/mcp` (Streamable HTTP), `/health`,
//! and the guards every MCP route passes (Origin/Host, session name).

pub mod guard;
pub mod health;
pub mod streamable;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::service::Coordinator;

/// Builds the whole HTTP surface of the daemon.
pub fn router(coord: Arc<Coordinator>, shutdown: CancellationToken) -> Router {
    let settings = coord.settings().clone();
    let mcp = Router::new()
        .nest_service("/mcp", streamable::service(coord.clone(), shutdown.clone()))
        .layer(axum::middleware::from_fn(guard::session_name));

    Router::new()
        .route("/health", get(health::health))
        .with_state(coord)
        .merge(mcp)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard::OriginPolicy::from_settings(&settings.server)),
            guard::origin_and_host,
        ))
}
