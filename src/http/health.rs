//! `GET /health`: the same report as the `health_check` tool. 200 when ok, 503 when degraded,
//! so `curl -f` and load balancers read it without parsing.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::service::Coordinator;

pub async fn health(State(coord): State<Arc<Coordinator>>) -> impl IntoResponse {
    let report = coord.health().await;
    let code = if report.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(report))
}
