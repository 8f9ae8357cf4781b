//! Request guards shared by both MCP transports.
//!
//! - Origin/Host: the MCP spec requires servers to validate `Origin` (a web page must not
//!   drive a local server), and checking `Host` defeats DNS rebinding. Loopback origins and
//!   hosts are always allowed; others only when configured.
//! - Session name: a `?session=`/`X-Coord-Session` that is not a valid name is refused
//!   before any MCP handling, with a message saying what is allowed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::ServerSettings;
use crate::mcp::identity::requested_session;

#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
}

impl OriginPolicy {
    pub fn from_settings(s: &ServerSettings) -> Self {
        Self {
            allowed_origins: s
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            allowed_hosts: s
                .allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }

    /// `None` when allowed, else the reason.
    pub fn check(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin
                .to_str()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_ascii_lowercase();
            if !(is_loopback_origin(&origin) || self.allowed_origins.contains(&origin)) {
                return Some(format!(
                    "Origin {origin:?} is not allowed: only localhost origins are, plus those in \
                     server.allowed_origins (MCP_COORD_ALLOWED_ORIGINS)"
                ));
            }
        }
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().unwrap_or("").to_ascii_lowercase();
            if !(is_loopback_host(&host)
                || self.allowed_hosts.contains(&host)
                || self.allowed_hosts.contains(&strip_port(&host).to_string()))
            {
                return Some(format!(
                    "Host {host:?} is not allowed: only localhost, 127.0.0.1 and [::1] are, plus \
                     those in server.allowed_hosts (MCP_COORD_ALLOWED_HOSTS)"
                ));
            }
        }
        None
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn is_loopback_host(host: &str) -> bool {
    let name = strip_port(host);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name.ends_with(".localhost")
}

fn is_loopback_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && is_loopback_host(rest)
}

pub async fn origin_and_host(
    State(policy): State<Arc<OriginPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    match policy.check(req.headers()) {
        None => next.run(req).await,
        Some(reason) => {
            tracing::warn!(%reason, path = %req.uri().path(), "refused request");
            (
                StatusCode::FORBIDDEN,
                axum::Json(json!({ "error": "forbidden", "message": reason })),
            )
                .into_response()
        }
    }
}

pub async fn session_name(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if let Err(e) = requested_session(&parts)
        && !names_another_valid_session(&parts, &e)
    {
        let message = e.to_string();
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": "invalid_session_name", "message": message })),
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// A legacy-SSE `POST /message?sessionId=…&session=mine` whose header names another valid
/// session is not malformed: it asks to act as a session the connection is not, which the
/// SSE handler refuses with 403 (README "Identity").
fn names_another_valid_session(
    parts: &http::request::Parts,
    e: &crate::mcp::identity::SessionRequestError,
) -> bool {
    use crate::domain::session_name;
    use crate::mcp::identity::{SessionRequestError, query_param};
    parts.method == http::Method::POST
        && query_param(parts, "sessionId").is_some()
        && matches!(e, SessionRequestError::Conflict { query, header }
            if session_name::validate(query).is_ok() && session_name::validate(header).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        if let Some(v) = host {
            h.insert(header::HOST, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_is_allowed_and_foreign_origins_are_not() {
        let p = OriginPolicy::from_settings(&ServerSettings::default());
        assert!(p.check(&headers(None, Some("127.0.0.1:8082"))).is_none());
        assert!(
            p.check(&headers(
                Some("http://localhost:3000"),
                Some("localhost:8082")
            ))
            .is_none()
        );
        assert!(
            p.check(&headers(Some("http://[::1]:5173"), Some("[::1]:8082")))
                .is_none()
        );
        assert!(
            p.check(&headers(
                Some("https://evil.example"),
                Some("127.0.0.1:8082")
            ))
            .is_some()
        );
        assert!(
            p.check(&headers(Some("http://localhost.evil.example"), None))
                .is_some()
        );
        assert!(
            p.check(&headers(None, Some("evil.example:8082"))).is_some(),
            "DNS rebinding"
        );
        assert!(p.check(&headers(Some("null"), None)).is_some());
    }

    #[test]
    fn configured_origins_and_hosts_are_allowed() {
        let s = ServerSettings {
            allowed_origins: vec!["https://dash.example:8443".into()],
            allowed_hosts: vec!["devbox".into()],
            ..Default::default()
        };
        let p = OriginPolicy::from_settings(&s);
        assert!(
            p.check(&headers(
                Some("https://dash.example:8443"),
                Some("devbox:8082")
            ))
            .is_none()
        );
        assert!(
            p.check(&headers(Some("https://dash.example"), None))
                .is_some()
        );
    }
}
