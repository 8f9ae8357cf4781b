//! `POST /session/claim`: how the CLI (and tests) get a session credential — never through
//! an MCP tool, whose answers a model reads. Body `{"session": NAME}`, the current
//! credential (if any) in `X-Coord-Credential`. Answers `{session, how, credential?}`
//! (`credential` only when a new one was issued; the CLI stores it), 403 when the session is
//! active and the credential is missing or wrong, 400 for a bad name. The rule is
//! [`crate::service::claims`]'s, the same one every MCP connection passes.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::domain::auth::Principal;
use crate::domain::session_name;
use crate::mcp::identity::CREDENTIAL_HEADER;
use crate::service::{Caller, Coordinator, claims};

#[derive(Debug, Deserialize)]
pub struct ClaimBody {
    pub session: String,
}

pub async fn claim(
    State(coord): State<Arc<Coordinator>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    body: Result<Json<ClaimBody>, JsonRejection>,
) -> Response {
    let session = match body {
        Ok(Json(b)) => b.session.trim().to_string(),
        Err(e) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "invalid_argument",
                format!("expected {{\"session\": NAME}} as JSON: {e}"),
            );
        }
    };
    if let Err(e) = session_name::validate(&session) {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!("session: {e}"),
        );
    }
    let principal = super::auth::principal_of(principal);
    if let Some(refused) = super::auth::refused_below_agent(&principal, "POST /session/claim") {
        return refused;
    }
    let presented = headers
        .get(CREDENTIAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let caller = Caller {
        session: session.clone(),
        connection_id: format!("cli:{}", uuid::Uuid::new_v4()),
        transport: "cli",
        principal,
    };
    match coord.claim_session(&caller, presented.as_deref()).await {
        Ok(claimed) => {
            let mut answer = json!({ "session": session, "how": claimed.how });
            if let Some(c) = claimed.credential {
                answer["credential"] = json!(c);
            }
            Json(answer).into_response()
        }
        Err(e) => {
            let status = match e.code {
                claims::REFUSED | "forbidden" => StatusCode::FORBIDDEN,
                "invalid_argument" => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            refusal(status, e.code, e.message)
        }
    }
}

fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}
