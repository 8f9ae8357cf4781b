//! The body of a GET /sse response: the `endpoint` event, then one `message` event per
//! outbound JSON-RPC message, until the connection is cancelled.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use axum::response::sse::Event;
use futures::{Stream, StreamExt, stream};
use rmcp::model::ServerJsonRpcMessage;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::{CancellationToken, DropGuard};

type EventResult = Result<Event, Infallible>;

/// Builds the event stream of one connection.
///
/// The stream ends as soon as `ct` is cancelled (shutdown, stalled client, service ended), and
/// dropping the stream (hyper does so when the client disconnects) cancels `ct`: this is how
/// a vanished client stops its service and in-flight tool calls.
pub(crate) fn event_stream(
    endpoint: String,
    outbound: mpsc::Receiver<Box<ServerJsonRpcMessage>>,
    ct: CancellationToken,
) -> impl Stream<Item = EventResult> + Send + 'static {
    let endpoint = stream::once(async move {
        Ok::<_, Infallible>(Event::default().event("endpoint").data(endpoint))
    });
    let messages = ReceiverStream::new(outbound).filter_map(|message| async move {
        match serde_json::to_string(&message) {
            Ok(json) => Some(Ok(Event::default().event("message").data(json))),
            Err(error) => {
                // Cannot happen for rmcp's own types; skip rather than kill the stream.
                tracing::error!(%error, "could not serialize an outbound MCP message; dropped");
                None
            }
        }
    });
    let events = endpoint
        .chain(messages)
        .take_until(ct.clone().cancelled_owned());
    CancelOnDrop {
        inner: Box::pin(events),
        _guard: ct.drop_guard(),
    }
}

/// A stream that cancels its connection's token when dropped.
struct CancelOnDrop {
    inner: Pin<Box<dyn Stream<Item = EventResult> + Send>>,
    _guard: DropGuard,
}

impl Stream for CancelOnDrop {
    type Item = EventResult;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
