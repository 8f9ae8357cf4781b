//! Which named session a request asks for: `?session=NAME` or the `X-Coord-Session` header.
//!
//! The GET that opens a stream binds the connection to that name (or to none); every later
//! POST may repeat the name but never change it, so one connection cannot act as two sessions.

use axum::extract::Query;
use http::request::Parts;

/// Header naming the session, for clients that cannot put it in the URL.
pub const SESSION_HEADER: &str = "x-coord-session";
/// Query parameter naming the session.
pub const SESSION_QUERY: &str = "session";
/// Query parameter carrying the connection id on POSTs (name fixed by the 2024-11-05 spec).
pub const CONNECTION_QUERY: &str = "sessionId";

/// The request names two different sessions, or names one in a form we cannot read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    #[error(
        "the request names session {query:?} in ?session= but {header:?} in X-Coord-Session; \
         send one name, or the same name in both"
    )]
    Conflict { query: String, header: String },
    #[error("the X-Coord-Session header is not valid UTF-8; send a plain-text session name")]
    HeaderNotUtf8,
}

/// The session the request asks for, if any.
///
/// An empty value counts as absent: `.mcp.json` expands an unset `${VAR}` to an empty string,
/// and that should mean "no name", not a session called "".
pub(crate) fn requested_session(parts: &Parts) -> Result<Option<String>, IdentityError> {
    let from_query = query_param(parts, SESSION_QUERY).filter(|name| !name.is_empty());
    let from_header = match parts.headers.get(SESSION_HEADER) {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| IdentityError::HeaderNotUtf8)?;
            Some(value.trim().to_owned()).filter(|name| !name.is_empty())
        }
    };
    match (from_query, from_header) {
        (Some(query), Some(header)) if query != header => {
            Err(IdentityError::Conflict { query, header })
        }
        (Some(name), _) | (None, Some(name)) => Ok(Some(name)),
        (None, None) => Ok(None),
    }
}

/// First value of query parameter `key`, percent-decoded. Unparsable query strings yield
/// `None` rather than an error: a missing `sessionId` is reported by the caller anyway.
pub(crate) fn query_param(parts: &Parts, key: &str) -> Option<String> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Percent-encodes `value` for use as a query parameter value (RFC 3986 unreserved kept).
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
