//! `POST /hooks/claude`: Claude Code hook events (from `mcp-coord hook`, or straight from
//! Claude as an `http` hook — no process spawn). Answers Claude's JSON output format; the
//! logic is in [`crate::service::hooks`]. `/hooks/claude/wait` and `/hooks/claude/claim`
//! serve the waiting hook that wakes an idle agent ([`crate::service::wake`]).
//!
//! Claude treats a non-2xx answer as a non-blocking error, so a bad event gets 400 with a
//! message and never blocks the agent.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::domain::auth::Principal;
use crate::mcp::peer_process::PeerAddrs;
use crate::service::Coordinator;
use crate::service::audit::{self, AuditActor};
use crate::service::hooks::HookEvent;
use crate::service::locks::WaitContext;
use crate::service::wake::{ClaimArgs, WakeArgs};

pub async fn claude(
    State(coord): State<Arc<Coordinator>>,
    peer: Option<Extension<PeerAddrs>>,
    principal: Option<Extension<Principal>>,
    body: Result<Json<HookEvent>, JsonRejection>,
) -> Response {
    let mut event = match body {
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
    event.principal = match posted_by(principal) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    // What the hook changes is audited as done by the hook's session (and token).
    let who = AuditActor {
        session: event.session_name().unwrap_or_default(),
        connection: format!("hook:{}", event.session_id),
        transport: "hook".into(),
        peer: peer.map(|Extension(p)| p.peer.to_string()),
        token: event.principal.token_id.clone(),
    };
    match audit::acting_as(who, coord.handle_hook(event)).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => error(e),
    }
}

/// `POST /hooks/claude/wait`: the waiting hook (`mcp-coord hook --wait`) long-polls until a
/// message should wake its agent. Body: the hook event plus `wait` ([`WakeArgs`]).
#[derive(Debug, Deserialize)]
pub struct WaitBody {
    #[serde(flatten)]
    pub event: HookEvent,
    pub wait: WakeArgs,
}

/// `POST /hooks/claude/claim`: the hook event plus `claim` ([`ClaimArgs`]).
#[derive(Debug, Deserialize)]
pub struct ClaimBody {
    #[serde(flatten)]
    pub event: HookEvent,
    pub claim: ClaimArgs,
}

/// The hook's principal: an agent's at least (hooks change state), else the 403 answer.
fn posted_by(principal: Option<Extension<Principal>>) -> Result<Principal, Box<Response>> {
    let principal = super::auth::principal_of(principal);
    match super::auth::refused_below_agent(&principal, "/hooks/claude") {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(principal),
    }
}

fn bad_json(e: JsonRejection, what: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_argument", "message": format!(
            "expected a Claude Code hook event with {what} as JSON: {e}"
        )})),
    )
        .into_response()
}

fn error(e: crate::service::ServiceError) -> Response {
    let status = match e.code {
        "invalid_argument" => StatusCode::BAD_REQUEST,
        crate::service::claims::REFUSED | "forbidden" => StatusCode::FORBIDDEN,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(json!({ "error": e.code, "message": e.message })),
    )
        .into_response()
}

pub async fn wait(
    State(coord): State<Arc<Coordinator>>,
    Extension(stop): Extension<super::events::StreamStop>,
    principal: Option<Extension<Principal>>,
    body: Result<Json<WaitBody>, JsonRejection>,
) -> Response {
    let mut body = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_json(e, "\"wait\": {wait_seconds, waiter, armed_at_ms}"),
    };
    body.event.principal = match posted_by(principal) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let caller = match coord.hook_caller(&body.event).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    // The daemon shutting down ends the wait (the hook then retries against the new one).
    let wait = WaitContext {
        cancel: stop.0.child_token(),
        ..WaitContext::default()
    };
    match coord.wait_for_wake(&caller, body.wait, wait).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(e) => error(e),
    }
}

pub async fn claim(
    State(coord): State<Arc<Coordinator>>,
    principal: Option<Extension<Principal>>,
    body: Result<Json<ClaimBody>, JsonRejection>,
) -> Response {
    let mut body = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_json(e, "\"claim\": {ids}"),
    };
    body.event.principal = match posted_by(principal) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let result = match coord.hook_caller(&body.event).await {
        Ok(caller) => coord.claim_wake(&caller, body.claim).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(claimed) => Json(claimed).into_response(),
        Err(e) => error(e),
    }
}
