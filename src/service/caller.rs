//! Who is calling: always taken from the connection (or its token), never from an argument.

use serde::Serialize;

/// The identity a front-end hands to the service layer with every call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The session this connection acts as.
    pub session: String,
    /// The connection itself (an SSE sessionId or a Streamable-HTTP session id).
    pub connection_id: String,
    /// `sse`, `streamable-http`, `hook` or `cli`.
    pub transport: &'static str,
}
