//! The rate limits at the HTTP edge: 429 with `Retry-After` (see `service/rate_limit.rs`).
//!
//! A request with a bearer token counts against that token (its id, from the
//! [`Principal`] `http/auth.rs` found: this layer runs after it); one of a Streamable-HTTP
//! connection (it carries `Mcp-Session-Id`) against that connection; any other request
//! against its client address, except `/health` (so
//! monitoring still sees a daemon under a flood) and the legacy SSE transport's `/message`
//! POSTs, which are answered 202 before the call runs: the MCP door refuses those calls with
//! a tool error instead.

use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::peer::PeerSocket;
use crate::domain::auth::Principal;
use crate::mcp::identity::SESSION_HEADER;
use crate::service::{Coordinator, rate_limit};

pub async fn limit(
    State(coord): State<Arc<Coordinator>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == "/health" || path == "/message" {
        return next.run(request).await;
    }
    let limits = coord.rate_limits();
    let token_id = request
        .extensions()
        .get::<Principal>()
        .and_then(|p| p.token_id.clone());
    let mcp_session = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| format!("mcp:{id}"));
    // Each connection has its budget (within its token, when it has one); a token's
    // requests on no connection share the token's.
    let connection = match (&token_id, mcp_session) {
        (Some(_), session) => Some(rate_limit::key(
            token_id.as_deref(),
            &session.unwrap_or_default(),
        )),
        (None, session) => session,
    };
    let (key, verdict) = match connection {
        Some(key) => {
            let v = limits.check_connection(&key);
            (key, v)
        }
        None => match request.extensions().get::<ConnectInfo<PeerSocket>>() {
            Some(ConnectInfo(socket)) => {
                // Hooks get a bucket of their own per address: every loopback client shares
                // 127.0.0.1, and a loop of CLI calls or `/events` opens in one agent's shell
                // must not get every agent's hooks (its wake-ups, its lock releases at the
                // end of a turn) refused.
                let ip = socket.peer().ip().to_string();
                let key = if path.starts_with("/hooks/") {
                    format!("hooks:{ip}")
                } else {
                    ip
                };
                let v = limits.check_peer(&key);
                (key, v)
            }
            None => return next.run(request).await,
        },
    };
    let Err(limited) = verdict else {
        return next.run(request).await;
    };
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok());
    limits.audit(coord.audit(), &key, session);
    let e = limited.to_error();
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "error": e.code, "message": e.message, "retry_after_ms": e.details["retry_after_ms"] })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&limited.retry_after_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
