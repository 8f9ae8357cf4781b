//! `POST /hooks/claude`: Claude Code hook events (from `mcp-coord hook`, or straight from
//! Claude as an `http` hook — no process spawn). Answers Claude's JSON output format; the
//! logic is in [`crate::service::hooks`].
//!
//! Claude treats a non-2xx answer as a non-blocking error, so a bad event gets 400 with a
//! message and never blocks the agent.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::service::Coordinator;
use crate::service::hooks::HookEvent;

pub async fn claude(
    State(coord): State<Arc<Coordinator>>,
    body: Result<Json<HookEvent>, JsonRejection>,
) -> Response {
    let event = match body {
        Ok(Json(e)) => e,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "invalid_argument", "message": format!(
                    "expected a Claude Code hook event as JSON (hook_event_name, session_id, cwd, …): {e}"
                )})),
            )
                .into_response();
        }
    };
    match coord.handle_hook(event).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => {
            let status = if e.code == "invalid_argument" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (
                status,
                Json(json!({ "error": e.code, "message": e.message })),
            )
                .into_response()
        }
    }
}
