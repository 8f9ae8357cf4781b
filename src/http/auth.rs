//! Bearer-token authentication at the HTTP edge (issue 16 Must 2/3): every route but
//! `/health` passes through [`authenticate`]. It finds the [`Principal`] of the request —
//! from `Authorization: Bearer …`, or "local, no token" when the daemon does not require one
//! (loopback with `auth.required = false`) — and puts it in the request's extensions, where
//! the MCP handler (roles, `tools/list`, session patterns), `/hooks/claude` and
//! `/session/claim` find it. The dashboard's page loads without a token; its data routes and
//! `/events` also take the login cookie of `POST /login` ([`super::login`]). A wrong token is always 401; a missing one is 401 when auth is
//! required (`[auth] required = true`, or any non-loopback bind).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::login::{self, LoginState};
use super::peer::PeerSocket;
use crate::domain::auth::Principal;
use crate::domain::session_name;
use crate::mcp::identity::{SESSION_HEADER, SESSION_QUERY, uri_query_param};
use crate::service::Coordinator;
use crate::service::audit::{self, AuditActor, AuditRecord};

/// Whether a request without a token is refused (`[auth] required`; a non-loopback bind is
/// refused at start without it).
pub fn required(coord: &Coordinator) -> bool {
    coord.settings().auth.required
}

/// A 401 is an `auth_refused` audit entry (issue 16 Must 6): who (the address, and the
/// session the request names), which route and why (`no_token`, `bad_token`,
/// `bad_header`, `login_ended`, `token_revoked`) — at most one per address, route and reason
/// every 10 s, so a misconfigured client retrying in a loop cannot flood the log.
fn refused(coord: &Coordinator, request: &Request, why: &str, message: String) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<PeerSocket>>()
        .map(|ConnectInfo(socket)| socket.peer());
    let path = request.uri().path();
    let ip = peer.map(|p| p.ip().to_string()).unwrap_or_default();
    if coord
        .rate_limits()
        .audit_due(&format!("auth:{ip}:{why}:{path}"))
    {
        let mut entry =
            AuditRecord::of("auth_refused", audit::REFUSED).detail(format!("{why} {path}"));
        let named = named_session(request);
        entry.by = Some(AuditActor {
            session: named.clone().unwrap_or_default(),
            connection: String::new(),
            transport: "http".into(),
            peer: peer.map(|p| p.to_string()),
            token: None,
        });
        if let Some(name) = named {
            entry = entry.session(name);
        }
        coord.audit().record(entry);
    }
    unauthorized(message)
}

/// The session a refused request names (`X-Coord-Session` or `?session=`), when it is a
/// valid name: what it tried to act as, for the audit entry.
fn named_session(request: &Request) -> Option<String> {
    let from_header = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let from_query = || uri_query_param(request.uri(), SESSION_QUERY);
    from_header
        .or_else(from_query)
        .filter(|name| session_name::validate(name).is_ok())
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

/// Routes anyone may load: the dashboard's page and assets (it shows a login form when its
/// data routes answer 401), logging in and out, and `/health`.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/health" | "/" | "/dashboard/app.js" | "/dashboard/app.css" | "/login" | "/logout"
    )
}

/// Routes that accept the dashboard's login cookie instead of a bearer header (never the
/// MCP routes or the hooks, so a cookie is only ever good for the page's own requests).
fn takes_cookie(path: &str) -> bool {
    path == "/events" || path.starts_with("/dashboard/")
}

/// How the request proved who it is; the dashboard tells the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Nothing: loopback with `auth.required = false`.
    None,
    Bearer,
    /// The dashboard's login cookie ([`super::login`]).
    LoginCookie,
}

pub async fn authenticate(
    State(s): State<LoginState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if is_public(path) {
        return next.run(request).await;
    }
    let coord = &s.coord;
    let found = match bearer(request.headers()) {
        Err(e) => return refused(coord, &request, "bad_header", e),
        Ok(Some(token)) => Some((coord.authenticate(&token).await, Proof::Bearer)),
        Ok(None) => match login::cookie(request.headers()).filter(|_| takes_cookie(path)) {
            Some(reference) => match s.logins.token_hash(&reference) {
                Some(hash) => Some((coord.authenticate_hash(&hash).await, Proof::LoginCookie)),
                None if required(coord) => {
                    return refused(
                        coord,
                        &request,
                        "login_ended",
                        "your dashboard login has ended (logged out, expired after 12 h, or \
                         the daemon restarted): log in again with your token"
                            .into(),
                    );
                }
                None => None,
            },
            None => None,
        },
    };
    let (principal, proof) = match found {
        None if required(coord) => {
            return refused(
                coord,
                &request,
                "no_token",
                format!(
                    "this daemon requires a token (auth.required, or a non-loopback bind): send \
                 `Authorization: Bearer <token>` (the dashboard: log in on its page); an \
                 admin creates one with `mcp-coord token create --role agent` (README \
                 \"Security\"); {path} has none"
                ),
            );
        }
        None => (Principal::local(), Proof::None),
        Some((Ok(Some(p)), proof)) => (p, proof),
        Some((Ok(None), Proof::LoginCookie)) => {
            return refused(
                coord,
                &request,
                "token_revoked",
                "the token you logged in with is no longer valid (revoked): log in with \
                 another one"
                    .into(),
            );
        }
        Some((Ok(None), _)) => {
            return refused(
                coord,
                &request,
                "bad_token",
                "the bearer token is not valid (unknown or revoked); ask an admin for one \
                 (`mcp-coord token create`) or check MCP_COORD_TOKEN"
                    .into(),
            );
        }
        Some((Err(e), _)) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "error": e.code, "message": e.message })),
            )
                .into_response();
        }
    };
    request.extensions_mut().insert(principal);
    request.extensions_mut().insert(proof);
    next.run(request).await
}

/// The principal `authenticate` found for a request (local when the route is public).
pub fn principal_of(found: Option<axum::Extension<Principal>>) -> Principal {
    found.map(|axum::Extension(p)| p).unwrap_or_default()
}

/// The 403 answer when `principal` may not act as a session on a route that changes state
/// (`/session/claim`, the hooks): that needs role agent at least (an observer only reads).
pub fn refused_below_agent(principal: &Principal, route: &str) -> Option<Response> {
    if principal.role >= crate::domain::auth::Role::Agent {
        return None;
    }
    Some((
        StatusCode::FORBIDDEN,
        axum::Json(json!({
            "error": "forbidden",
            "message": format!(
                "{route} acts as a session and needs role agent; this token has role {}: use an \
                 agent token (mcp-coord token create --role agent)",
                principal.role
            ),
            "needs_role": "agent",
        })),
    )
        .into_response())
}
