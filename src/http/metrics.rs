//! `GET /metrics`: Prometheus (OpenMetrics) text. Never fails: values that need the store
//! are skipped when it does not answer, and everything else is served as is.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::domain::tiers::Tier;
use crate::service::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use crate::service::{Caller, Coordinator};

pub async fn metrics(State(coord): State<Arc<Coordinator>>) -> impl IntoResponse {
    let m = coord.metrics();
    let conns = coord.connections();
    m.set_connections(conns.sse(), conns.streamable_http());
    m.set_store_errors(coord.store().errors_total());
    // Gauges read from the store; skipped (not zeroed) when it does not answer.
    if let Ok(groups) = coord.session_status().await {
        m.set_sessions(Tier::Active, groups.active.len());
        m.set_sessions(Tier::Idle, groups.idle.len());
        m.set_sessions(Tier::Stale, groups.stale.len());
        m.set_sessions(Tier::Abandoned, groups.abandoned.len());
    }
    let scraper = Caller {
        session: "metrics".into(),
        connection_id: "metrics".into(),
        transport: "http",
        principal: Default::default(),
    };
    if let Ok(list) = coord.list_locks(&scraper, &Default::default()).await {
        m.set_locks_held(list.total_count);
    }
    ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], m.encode())
}
