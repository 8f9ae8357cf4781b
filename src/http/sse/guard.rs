//! DNS-rebinding and cross-origin guard: who may talk to the daemon at all.
//!
//! The daemon listens on loopback, where any web page the user opens could try to reach it.
//! A rebinding attack arrives with a foreign `Host`; a page's `fetch` arrives with a foreign
//! `Origin`. Agent CLIs send a loopback `Host` and no `Origin`, so both checks cost them
//! nothing.

use http::{header, request::Parts, uri::Authority};

use super::error::SseError;

/// Refuses a request whose `Host` (or `Origin`, when present) names a host outside
/// `allowed_hosts`. An empty list allows every host (for deployments behind a proxy that
/// already checks).
pub(crate) fn check(parts: &Parts, allowed_hosts: &[String]) -> Result<(), SseError> {
    if allowed_hosts.is_empty() {
        return Ok(());
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Authority::try_from(value).ok())
        .or_else(|| parts.uri.authority().cloned());
    match host {
        Some(authority) if is_allowed(&authority, allowed_hosts) => {}
        other => {
            let seen = other.map_or_else(|| "none".to_owned(), |a| a.to_string());
            tracing::warn!(host = %seen, "refused request with a foreign Host (DNS rebinding?)");
            return Err(SseError::ForeignHost(seen));
        }
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("<not UTF-8>");
        let allowed = http::Uri::try_from(origin)
            .ok()
            .and_then(|uri| uri.authority().cloned())
            .is_some_and(|authority| is_allowed(&authority, allowed_hosts));
        if !allowed {
            tracing::warn!(%origin, "refused cross-origin request");
            return Err(SseError::ForeignOrigin(origin.to_owned()));
        }
    }
    Ok(())
}

/// `localhost` allows `localhost:any-port`; `localhost:8080` allows only that port.
fn is_allowed(authority: &Authority, allowed_hosts: &[String]) -> bool {
    let host = normalize(authority.host());
    allowed_hosts.iter().any(|allowed| {
        match Authority::try_from(allowed.trim()) {
            Ok(entry) => {
                normalize(entry.host()) == host
                    && entry
                        .port_u16()
                        .is_none_or(|port| authority.port_u16() == Some(port))
            }
            // Bare IPv6 such as `::1` is not a valid authority; compare it as a host.
            Err(_) => normalize(allowed) == host,
        }
    })
}

fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}
