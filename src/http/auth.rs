//! Bearer-token authentication at the HTTP edge (issue 16 Must 2/3): every route but
//! `/health` passes through [`authenticate`]. It finds the [`Principal`] of the request —
//! from `Authorization: Bearer …`, or "local, no token" when the daemon does not require one
//! (loopback with `auth.required = false`) — and puts it in the request's extensions, where
//! the MCP handler (roles, `tools/list`, session patterns), `/hooks/claude` and
//! `/session/claim` find it. A wrong token is always 401; a missing one is 401 when auth is
//! required (`[auth] required = true`, or any non-loopback bind).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::auth::Principal;
use crate::service::Coordinator;

/// Whether a request without a token is refused (`[auth] required`; a non-loopback bind is
/// refused at start without it).
pub fn required(coord: &Coordinator) -> bool {
    coord.settings().auth.required
}

fn unauthorized(message: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({ "error": "unauthorized", "message": message })),
    )
        .into_response()
}

/// The `Bearer` value of a request, when it sends one (an empty `${MCP_COORD_TOKEN:-}`
/// counts as none).
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not valid text".to_string())?
        .trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        None if value.eq_ignore_ascii_case("bearer") => "",
        _ => {
            return Err(
                "the Authorization header must be `Bearer <token>` (other schemes are not accepted)"
                    .into(),
            );
        }
    };
    Ok(Some(token.to_string()).filter(|t| !t.is_empty()))
}

pub async fn authenticate(
    State(coord): State<Arc<Coordinator>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let principal = match bearer(request.headers()) {
        Err(e) => return unauthorized(e),
        Ok(None) if required(&coord) => {
            return unauthorized(format!(
                "this daemon requires a token (auth.required, or a non-loopback bind): send \
                 `Authorization: Bearer <token>`; an admin creates one with \
                 `mcp-coord token create --role agent` (README \"Security\"); {} has none",
                request.uri().path()
            ));
        }
        Ok(None) => Principal::local(),
        Ok(Some(token)) => match coord.authenticate(&token).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return unauthorized(
                    "the bearer token is not valid (unknown or revoked); ask an admin for one \
                     (`mcp-coord token create`) or check MCP_COORD_TOKEN"
                        .into(),
                );
            }
            Err(e) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({ "error": e.code, "message": e.message })),
                )
                    .into_response();
            }
        },
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}
