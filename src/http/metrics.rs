//! `GET /metrics`: Prometheus (OpenMetrics) text. Never fails: values that need the store
//! are skipped when it does not answer, and everything else is served as is.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::service::Coordinator;
use crate::service::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;

pub async fn metrics(State(coord): State<Arc<Coordinator>>) -> impl IntoResponse {
    let m = coord.metrics();
    let conns = coord.connections();
    m.set_connections(conns.sse(), conns.streamable_http());
    m.set_store_errors(coord.store().errors_total());
    ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], m.encode())
}
