//! Refusals of the SSE endpoints, each with the HTTP status and a message that says what was
//! wrong and what to do next.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use rmcp::model::{ErrorCode, RequestId};

use crate::mcp::identity::SessionRequestError;

/// Why a GET /sse or a POST to the message endpoint was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseError {
    #[error("missing ?sessionId= on the POST URL; use the URL from the stream's `endpoint` event")]
    MissingConnectionId,
    #[error(
        "unknown or closed sessionId {0:?}: the SSE connection is gone (it was closed or the \
         daemon restarted); reconnect with GET /sse and use the new endpoint"
    )]
    UnknownConnection(String),
    #[error(transparent)]
    Identity(#[from] SessionRequestError),
    #[error(
        "this connection is bound to {bound}, but the POST names session {requested:?}; \
         a connection's session is fixed when GET /sse opens it: open a new stream with \
         ?session={requested} to act as that session"
    )]
    IdentityMismatch {
        /// Human-readable binding: `session "NAME"` or `no named session`.
        bound: String,
        requested: String,
    },
    #[error("request body exceeds the limit of {limit} bytes; send a smaller message")]
    TooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    BodyUnreadable(String),
    #[error("{detail}")]
    Malformed {
        detail: String,
        code: ErrorCode,
        id: Option<RequestId>,
    },
    #[error(
        "the connection's inbound queue is full (the server is busy with earlier messages); \
         retry shortly"
    )]
    Busy,
    #[error("the daemon is shutting down; reconnect after it restarts")]
    ShuttingDown,
}

impl SseError {
    fn status(&self) -> StatusCode {
        match self {
            Self::MissingConnectionId
            | Self::Identity(_)
            | Self::BodyUnreadable(_)
            | Self::Malformed { .. } => StatusCode::BAD_REQUEST,
            Self::UnknownConnection(_) => StatusCode::NOT_FOUND,
            Self::IdentityMismatch { .. } => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Busy | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for SseError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::debug!(%status, error = %self, "SSE request refused");
        match &self {
            // A malformed message gets a JSON-RPC error object, as JSON-RPC clients expect.
            Self::Malformed { detail, code, id } => {
                let body = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": { "code": code.0, "message": detail },
                });
                (status, Json(body)).into_response()
            }
            Self::Busy => (status, [(header::RETRY_AFTER, "1")], self.to_string()).into_response(),
            _ => (status, self.to_string()).into_response(),
        }
    }
}
