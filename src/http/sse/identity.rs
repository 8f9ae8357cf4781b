//! Which named session a request asks for: `?session=NAME` or the `X-Coord-Session` header.
//!
//! The GET that opens a stream binds the connection to that name (or to none); every later
//! POST may repeat the name but never change it, so one connection cannot act as two sessions.

/// The header and query parameter naming the session: the same for both transports.
pub use crate::mcp::identity::{SESSION_HEADER, SESSION_QUERY};
/// Query parameter carrying the connection id on POSTs (name fixed by the 2024-11-05 spec).
pub const CONNECTION_QUERY: &str = "sessionId";

pub(crate) use crate::mcp::identity::{query_param, requested_session};

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
