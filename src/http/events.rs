//! `GET /events`: every daemon event as server-sent events, for `mcp-coord watch` and
//! dashboards. Each event is `event: <kind>` (`session_registered`, `tier_changed`,
//! `status_reported`, `session_ended`, `lock_granted`, `lock_taken_over`, `lock_released`,
//! `message_sent`) with `data: {json}` (the same object, its `event` field naming the kind).
//! The first event is `ready` (the stream is live from then on). Events of other daemons on
//! the same Redis are included. Keep-alive comments every `server.sse_keep_alive_seconds`;
//! the stream ends when the daemon stops. The router-wide Origin/Host guard applies.
//!
//! Message events carry sender, recipient, kind and id, never the body.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_util::sync::CancellationToken;

use crate::service::Coordinator;

/// Ends open `/events` streams when the daemon shuts down.
#[derive(Clone)]
pub struct StreamStop(pub CancellationToken);

pub async fn events(
    State(coord): State<Arc<Coordinator>>,
    Extension(StreamStop(stop)): Extension<StreamStop>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let keep_alive = Duration::from_secs(coord.settings().server.sse_keep_alive_seconds.max(1));
    // Subscribe before saying `ready`, so nothing after it is missed.
    let rx = coord.events().subscribe();
    let ready = SseEvent::default()
        .event("ready")
        .data(json!({ "event": "ready", "version": env!("CARGO_PKG_VERSION") }).to_string());
    let live = BroadcastStream::new(rx).map(|item| {
        Ok(match item {
            Ok(event) => SseEvent::default()
                .event(event.kind())
                .data(serde_json::to_string(&event).unwrap_or_default()),
            Err(BroadcastStreamRecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(json!({ "event": "lagged", "missed": n }).to_string()),
        })
    });
    let stream = futures::stream::once(async move { Ok(ready) })
        .chain(live)
        .take_until(stop.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive))
}
