//! What can go wrong between an HTTP request and its Streamable-HTTP session. rmcp turns
//! these into HTTP answers (a missing session is a 404 before we are asked).

use rmcp::transport::streamable_http_server::session::SessionId;

#[derive(Debug, thiserror::Error)]
pub enum HttpSessionError {
    #[error("MCP session {0} does not exist (it ended or was never created); initialize again")]
    NotFound(SessionId),
    #[error("MCP session {0} has ended; initialize a new one")]
    Closed(SessionId),
    #[error("cannot resume MCP session {session}: {why}")]
    Resume { session: SessionId, why: String },
}
