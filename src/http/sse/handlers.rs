//! The two HTTP endpoints: `GET /sse` opens a connection, `POST {message_path}` feeds it.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, NestedPath, Request, State},
    response::{
        IntoResponse, Response,
        sse::{KeepAlive, Sse},
    },
};
use http::{StatusCode, header, request::Parts};
use rmcp::model::{ClientJsonRpcMessage, ErrorCode, ErrorData, RequestId, ServerJsonRpcMessage};
use tokio::sync::mpsc::{self, error::SendTimeoutError};

use super::{
    SseConnectionInfo, SseSessionBinding, SseState,
    error::SseError,
    identity::{self, CONNECTION_QUERY, SESSION_QUERY},
    registry::Connection,
    stream::event_stream,
    transport::SseTransport,
};

/// `GET /sse`: registers a connection, starts its service, and returns its event stream.
pub(crate) async fn open_stream(
    State(state): State<Arc<SseState>>,
    parts: Parts,
) -> Result<Response, SseError> {
    if state.shutdown.is_cancelled() {
        return Err(SseError::ShuttingDown);
    }
    let requested_session = identity::requested_session(&parts)?;
    let config = &state.config;
    let connection_id = uuid::Uuid::new_v4().to_string();
    let ct = state.shutdown.child_token();
    let (inbound_tx, inbound_rx) = mpsc::channel(config.inbound_queue);
    let (outbound_tx, outbound_rx) = mpsc::channel(config.outbound_queue);

    let endpoint = endpoint_uri(
        &parts,
        &config.message_path,
        &connection_id,
        requested_session.as_deref(),
    );
    state.registry.insert(
        connection_id.clone(),
        Arc::new(Connection {
            inbound: inbound_tx,
            outbound: outbound_tx.clone(),
            bound_session: requested_session.clone(),
            ct: ct.clone(),
        }),
    );
    tracing::info!(
        %connection_id,
        session = requested_session.as_deref().unwrap_or("-"),
        "SSE connection opened"
    );

    let transport = SseTransport {
        connection_id: connection_id.as_str().into(),
        inbound: inbound_rx,
        outbound: outbound_tx,
        ct: ct.clone(),
        send_timeout: config.outbound_send_timeout,
        pending: None,
    };
    let info = SseConnectionInfo {
        connection_id: connection_id.clone(),
        requested_session,
        parts,
    };
    let service = (state.launcher)(&info, transport, ct.clone());

    // Whichever ends first, the service or the connection, ends the other; then the
    // connection leaves the registry so later POSTs get 404.
    let registry = state.registry.clone();
    let service_ct = ct.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = service => service_ct.cancel(),
            () = service_ct.cancelled() => {}
        }
        registry.remove(&connection_id);
        tracing::info!(%connection_id, "SSE connection closed");
    });

    let keep_alive = KeepAlive::new().interval(config.keep_alive).text("ping");
    Ok(Sse::new(event_stream(endpoint, outbound_rx, ct))
        .keep_alive(keep_alive)
        .into_response())
}

/// `POST {message_path}?sessionId=…`: one JSON-RPC message for a live connection.
///
/// Checks run cheapest first, so a bad request is refused before its body is read.
pub(crate) async fn post_message(
    State(state): State<Arc<SseState>>,
    request: Request,
) -> Result<StatusCode, SseError> {
    let (parts, body) = request.into_parts();
    let config = &state.config;
    let connection_id = identity::query_param(&parts, CONNECTION_QUERY)
        .filter(|id| !id.is_empty())
        .ok_or(SseError::MissingConnectionId)?;
    if declared_length(&parts).is_some_and(|length| length > config.max_body_bytes) {
        return Err(SseError::TooLarge {
            limit: config.max_body_bytes,
        });
    }
    let connection = state
        .registry
        .get(&connection_id)
        .filter(|connection| !connection.ct.is_cancelled())
        .ok_or_else(|| SseError::UnknownConnection(connection_id.clone()))?;
    if let Some(requested) = foreign_session(&parts, connection.bound_session.as_deref())? {
        let bound = match &connection.bound_session {
            Some(name) => format!("session {name:?}"),
            None => "no named session".to_owned(),
        };
        return Err(SseError::IdentityMismatch { bound, requested });
    }

    let bytes = read_body(&parts, body, config.max_body_bytes).await?;
    let mut message = match parse_message(&bytes) {
        Ok(message) => message,
        Err(error) => {
            answer_on_stream(&connection, &error);
            return Err(error);
        }
    };
    message.insert_extension(SseSessionBinding {
        connection_id: connection_id.clone(),
        session: connection.bound_session.clone(),
    });
    message.insert_extension(parts);

    let sent = tokio::select! {
        sent = connection.inbound.send_timeout(Box::new(message), config.inbound_send_timeout) => sent,
        () = connection.ct.cancelled() => return Err(SseError::UnknownConnection(connection_id)),
    };
    match sent {
        Ok(()) => Ok(StatusCode::ACCEPTED),
        Err(SendTimeoutError::Timeout(_)) => {
            tracing::warn!(%connection_id, "SSE inbound queue full; POST refused with 503");
            Err(SseError::Busy)
        }
        Err(SendTimeoutError::Closed(_)) => Err(SseError::UnknownConnection(connection_id)),
    }
}

/// A valid session name the POST gives (`?session=` or `X-Coord-Session`) that is not the
/// one the stream is bound to; an invalid name is an error of its own (400).
fn foreign_session(parts: &Parts, bound: Option<&str>) -> Result<Option<String>, SseError> {
    let names = match identity::requested_session(parts) {
        Ok(name) => name.into_iter().collect::<Vec<_>>(),
        // Two valid names that disagree: one of them is not ours.
        Err(crate::mcp::identity::SessionRequestError::Conflict { query, header }) => {
            vec![query, header]
        }
        Err(e) => return Err(e.into()),
    };
    Ok(names.into_iter().find(|n| Some(n.as_str()) != bound))
}

/// The relative URI announced in the `endpoint` event. Keeps the GET's `?session=` so a
/// client that only knows the endpoint still names its session, and honours `Router::nest`.
fn endpoint_uri(
    parts: &Parts,
    message_path: &str,
    connection_id: &str,
    session: Option<&str>,
) -> String {
    let prefix = parts
        .extensions
        .get::<NestedPath>()
        .map(|nested| nested.as_str().trim_end_matches('/'))
        .unwrap_or("");
    let mut uri = format!("{prefix}{message_path}?{CONNECTION_QUERY}={connection_id}");
    if let Some(name) = session {
        uri.push_str(&format!(
            "&{SESSION_QUERY}={}",
            identity::encode_query_value(name)
        ));
    }
    uri
}

/// The `Content-Length` the client declared, if it declared a readable one.
fn declared_length(parts: &Parts) -> Option<usize> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the body, enforcing `limit` while reading (a chunked body declares no length).
async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, SseError> {
    let request = Request::from_parts(parts.clone(), body);
    Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                SseError::TooLarge { limit }
            } else {
                SseError::BodyUnreadable(rejection.body_text())
            }
        })
}

/// Parses one JSON-RPC message from a client, saying precisely what is wrong if it is not one.
fn parse_message(bytes: &[u8]) -> Result<ClientJsonRpcMessage, SseError> {
    // Every POST is one message: parse it straight into its type; only a body that is not
    // one is read again as plain JSON, to say precisely what is wrong with it.
    // (An object only: a batch is refused below, whatever rmcp's types would accept.)
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if object && let Ok(message) = serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        return Ok(message);
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| SseError::Malformed {
            detail: format!(
                "body is not valid JSON ({error}); send one JSON-RPC 2.0 message as \
                 application/json"
            ),
            code: ErrorCode::PARSE_ERROR,
            id: None,
        })?;
    if value.is_array() {
        return Err(SseError::Malformed {
            detail: "JSON-RPC batches are not supported; send one message per POST".to_owned(),
            code: ErrorCode::INVALID_REQUEST,
            id: None,
        });
    }
    // Keep the id of something that looks like a request, to answer it on the stream.
    let id = value
        .get("method")
        .and(value.get("id"))
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    serde_json::from_value(value).map_err(|error| SseError::Malformed {
        detail: format!(
            "body is JSON but not a valid MCP client message ({error}); expected a JSON-RPC 2.0 \
             request, notification or response with \"jsonrpc\": \"2.0\""
        ),
        code: ErrorCode::INVALID_REQUEST,
        id,
    })
}

/// An SSE client reads replies only from the stream, so a malformed request that has an id
/// also gets its JSON-RPC error there; otherwise the client would wait for it forever.
/// Best effort: if the stream is backed up, the 400 on the POST must do.
fn answer_on_stream(connection: &Connection, error: &SseError) {
    if let SseError::Malformed {
        detail,
        code,
        id: Some(id),
    } = error
    {
        let error = ErrorData::new(*code, detail.clone(), None);
        let reply = ServerJsonRpcMessage::error(error, Some(id.clone()));
        if connection.outbound.try_send(Box::new(reply)).is_err() {
            tracing::debug!("could not echo a malformed-request error onto a full SSE stream");
        }
    }
}
