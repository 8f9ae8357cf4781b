//! Logging in to the dashboard (issue 19 with issue 16's tokens): a browser cannot send
//! `Authorization: Bearer` on its own, so `POST /login` takes a token once and answers with a
//! cookie that [`super::auth`] accepts instead of the header on the dashboard's routes and
//! `/events`. `POST /logout` forgets it.
//!
//! The cookie carries a random reference (`mcpw_` + 64 hex digits), not the token: the
//! daemon keeps, in memory, the reference's hash → the token's hash and an expiry. So the
//! token is never stored in the browser (a stolen cookie dies at logout, at expiry or with
//! a restart, and cannot be used on `/mcp`), and a revoked token ends its logins at their
//! next request (each request looks the token's hash up again, as a bearer request does).
//! Logins are per daemon: another daemon on the same Redis does not know them.
//!
//! The cookie is `Secure` whenever the page came over https (see `over_https`).
//!
//! CSRF: the cookie is `SameSite=Strict` and `HttpOnly`, the router-wide Origin guard refuses
//! foreign origins, and every POST here (and the admin POSTs) must be JSON or carry
//! `X-Coord-Dashboard`, which a cross-site HTML form cannot send.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::json;

use crate::domain::credential;
use crate::service::Coordinator;
use crate::service::audit::{AuditRecord, OK, REFUSED};
use crate::service::claims::new_secret;

/// The cookie's name.
pub const COOKIE: &str = "mcp_coord_login";
/// The header a non-JSON POST must carry (any value).
pub const CSRF_HEADER: &str = "x-coord-dashboard";
/// How long a login lasts.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Logins kept at once; the oldest goes when a new one would pass this.
const LOGINS_KEPT: usize = 1024;
/// The largest login body read.
pub const LOGIN_BODY_BYTES: usize = 4096;

struct Login {
    token_hash: String,
    expires: Instant,
}

/// The daemon's dashboard logins: hash of the cookie's reference → the token's hash.
#[derive(Default)]
pub struct WebLogins {
    logins: Mutex<HashMap<String, Login>>,
}

impl WebLogins {
    /// A new login for the token whose hash is `token_hash`; returns the cookie value.
    fn create(&self, token_hash: String) -> Result<String, crate::service::ServiceError> {
        let reference = new_secret("mcpw_")?;
        let now = Instant::now();
        let mut logins = self.logins.lock();
        logins.retain(|_, l| l.expires > now);
        if logins.len() >= LOGINS_KEPT
            && let Some(oldest) = logins
                .iter()
                .min_by_key(|(_, l)| l.expires)
                .map(|(k, _)| k.clone())
        {
            logins.remove(&oldest);
        }
        logins.insert(
            credential::hash(&reference),
            Login {
                token_hash,
                expires: now + LOGIN_LIFETIME,
            },
        );
        drop(logins);
        Ok(reference)
    }

    /// The token hash of a live login, or `None` (unknown, expired, or logged out).
    pub fn token_hash(&self, reference: &str) -> Option<String> {
        let key = credential::hash(reference);
        let mut logins = self.logins.lock();
        match logins.get(&key) {
            Some(l) if l.expires > Instant::now() => Some(l.token_hash.clone()),
            Some(_) => {
                logins.remove(&key);
                None
            }
            None => None,
        }
    }

    fn remove(&self, reference: &str) -> bool {
        self.logins
            .lock()
            .remove(&credential::hash(reference))
            .is_some()
    }
}

/// The value of our cookie in a request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn refusal(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "message": message.into() })),
    )
        .into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// The CSRF rule of the dashboard's POSTs: JSON, or the `X-Coord-Dashboard` header. The
/// refusal when neither.
pub fn csrf_refusal(headers: &HeaderMap) -> Option<Response> {
    if is_json(headers) || headers.contains_key(CSRF_HEADER) {
        return None;
    }
    Some(refusal(
        StatusCode::FORBIDDEN,
        "csrf_refused",
        "this POST must be JSON (Content-Type: application/json) or carry the header \
         X-Coord-Dashboard: 1, so a form on another site cannot send it; the dashboard \
         page does this itself",
    ))
}

/// The token in a login body: `{"token": "…"}`, or the form field `token=…`.
fn token_in(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let token = if is_json(headers) {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("token")?
            .as_str()?
            .to_string()
    } else {
        let text = std::str::from_utf8(body).ok()?;
        text.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "token")
            .map(|(_, v)| v.to_string())?
    };
    Some(token.trim().to_string()).filter(|t| !t.is_empty())
}

/// `Secure` when the page was served over https: the daemon serves HTTPS itself (`[tls]`),
/// or the browser says so in `Origin` (every POST from a page carries it), or a reverse proxy
/// in `X-Forwarded-Proto`.
fn over_https(coord: &Coordinator, headers: &HeaderMap) -> bool {
    if coord.settings().tls.enabled() {
        return true;
    }
    let says = |name: &str, https: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(https))
    };
    says("origin", "https://") || says("x-forwarded-proto", "https")
}

fn set_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Shared by `/login`, `/logout` and the auth layer.
#[derive(Clone)]
pub struct LoginState {
    pub coord: Arc<Coordinator>,
    pub logins: Arc<WebLogins>,
}

/// `POST /login`: checks the token and sets the login cookie.
pub async fn login(State(s): State<LoginState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = csrf_refusal(&headers) {
        return r;
    }
    let Some(token) = token_in(&headers, &body) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "send the token in the body: {\"token\": \"mcpc_…\"} as JSON (or the form field \
             token=…), never in the URL; an admin creates one with `mcp-coord token create`",
        );
    };
    let hash = credential::hash(&token);
    let principal = match s.coord.authenticate(&token).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            s.coord
                .audit()
                .record(AuditRecord::of("dashboard_login", REFUSED).detail("invalid_token"));
            return refusal(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "that token is not valid (unknown or revoked): check it, or ask an admin for \
                 one (`mcp-coord token create --role observer` to look, `--role admin` to act)",
            );
        }
        Err(e) => return refusal(StatusCode::SERVICE_UNAVAILABLE, e.code, e.message),
    };
    let reference = match s.logins.create(hash) {
        Ok(r) => r,
        Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, e.code, e.message),
    };
    let token_id = principal.token_id.clone().unwrap_or_default();
    s.coord
        .audit()
        .record(AuditRecord::of("dashboard_login", OK).detail(&token_id));
    let mut r = axum::Json(json!({
        "role": principal.role,
        "token_id": token_id,
        "expires_in_seconds": LOGIN_LIFETIME.as_secs(),
    }))
    .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            &reference,
            LOGIN_LIFETIME.as_secs(),
            over_https(&s.coord, &headers),
        ),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `POST /logout`: forgets the login (if any) and clears the cookie.
pub async fn logout(State(s): State<LoginState>, headers: HeaderMap) -> Response {
    if let Some(r) = csrf_refusal(&headers) {
        return r;
    }
    let ended = cookie(&headers).is_some_and(|c| s.logins.remove(&c));
    if ended {
        s.coord
            .audit()
            .record(AuditRecord::of("dashboard_logout", OK));
    }
    let mut r = axum::Json(json!({ "logged_out": ended })).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie("", 0, over_https(&s.coord, &headers)),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_found_by_its_cookie_until_removed() {
        let logins = WebLogins::default();
        let reference = logins.create("h1".into()).unwrap();
        assert!(reference.starts_with("mcpw_"));
        assert_eq!(logins.token_hash(&reference).as_deref(), Some("h1"));
        assert_eq!(logins.token_hash("mcpw_other"), None);
        assert!(logins.remove(&reference));
        assert_eq!(logins.token_hash(&reference), None);
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mcp_coord_login=mcpw_x ; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("mcpw_x"));
        assert_eq!(cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn posts_must_be_json_or_carry_the_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(csrf_refusal(&h).is_some());
        h.insert(CSRF_HEADER, HeaderValue::from_static("1"));
        assert!(csrf_refusal(&h).is_none());
        let mut j = HeaderMap::new();
        j.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(csrf_refusal(&j).is_none());
        assert_eq!(
            token_in(&j, br#"{"token":" mcpc_1 "}"#).as_deref(),
            Some("mcpc_1")
        );
        assert_eq!(token_in(&h, b"x=1&token=mcpc_2").as_deref(), Some("mcpc_2"));
    }
}
