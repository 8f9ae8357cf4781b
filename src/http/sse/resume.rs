//! A legacy-SSE client that sends requests on a fresh stream without `initialize` is
//! resuming: the daemon restarted under it, its event stream reconnected by itself (Claude
//! Code's EventSource does), and it goes on POSTing to the new endpoint as if nothing had
//! happened. rmcp would take such a request for the sessionless 2026-07-28 lifecycle and
//! refuse it ("request _meta is missing…"), so every tool call of the agent would fail until
//! a human reconnected it.
//!
//! Instead the connection is served as if it had initialized: with the protocol version
//! its POST declares in `MCP-Protocol-Version` (which the client sends once it has
//! negotiated one), else 2024-11-05, the version of this transport. Its identity comes
//! from what the stream presents, as for any connection: `?session=` / `X-Coord-Session`
//! at once, and the hook binding with its next `bind_session`.

use rmcp::model::{
    ClientCapabilities, ClientJsonRpcMessage, ClientRequest, EmptyResult, GetExtensions,
    Implementation, InitializeRequestParams, ProtocolVersion, ServerJsonRpcMessage, ServerResult,
};
use rmcp::transport::Transport;

use super::transport::SseTransport;

/// Header a client sends after negotiating a version (MCP 2025-06-18 and later clients).
const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// How the first message (other than `ping`) of a connection opens it.
pub(crate) enum Opening {
    /// `initialize` (or a `server/discover` probe, or anything rmcp should judge): the
    /// ordinary handshake.
    Handshake(ClientJsonRpcMessage),
    /// A request or notification without a handshake: a client resuming after a restart.
    Resumed(ClientJsonRpcMessage, Box<InitializeRequestParams>),
}

/// Reads messages until one decides how the connection opens; answers `ping`s meanwhile
/// (allowed before `initialize`, and a resuming client may send one first). `None` when
/// the connection closed first.
pub(crate) async fn opening(
    transport: &mut SseTransport,
    supported: &[ProtocolVersion],
) -> Option<Opening> {
    loop {
        let message = transport.receive().await?;
        match &message {
            ClientJsonRpcMessage::Request(req)
                if matches!(req.request, ClientRequest::PingRequest(_)) =>
            {
                let pong = ServerJsonRpcMessage::response(
                    ServerResult::EmptyResult(EmptyResult {}),
                    req.id.clone(),
                );
                transport.send(pong).await.ok()?;
            }
            ClientJsonRpcMessage::Request(req)
                if matches!(
                    req.request,
                    ClientRequest::InitializeRequest(_) | ClientRequest::DiscoverRequest(_)
                ) =>
            {
                return Some(Opening::Handshake(message));
            }
            ClientJsonRpcMessage::Request(_) | ClientJsonRpcMessage::Notification(_) => {
                let version = declared_version(&message, supported);
                return Some(Opening::Resumed(message, Box::new(resumed_peer(version))));
            }
            _ => return Some(Opening::Handshake(message)),
        }
    }
}

/// The version the POST declares, if we speak it and it has a handshake; else 2024-11-05.
fn declared_version(
    message: &ClientJsonRpcMessage,
    supported: &[ProtocolVersion],
) -> ProtocolVersion {
    let extensions = match message {
        ClientJsonRpcMessage::Request(r) => r.request.extensions(),
        ClientJsonRpcMessage::Notification(n) => n.notification.extensions(),
        _ => return ProtocolVersion::V_2024_11_05,
    };
    extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.headers.get(PROTOCOL_VERSION_HEADER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_value::<ProtocolVersion>(v.trim().into()).ok())
        .filter(|v| v.has_initialize() && supported.contains(v))
        .unwrap_or(ProtocolVersion::V_2024_11_05)
}

/// What the connection is taken to have sent in its `initialize`. Its real capabilities
/// died with the previous daemon; none of our tools depends on them (the server never sends
/// requests to the client), so none are assumed.
fn resumed_peer(version: ProtocolVersion) -> InitializeRequestParams {
    InitializeRequestParams::new(
        ClientCapabilities::default(),
        Implementation::new("resumed-sse-client", "unknown"),
    )
    .with_protocol_version(version)
}
