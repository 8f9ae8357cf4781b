//! `GET /events`: every daemon event as server-sent events, for `mcp-coord watch` and the
//! dashboard. Each event is `event: <kind>` (`session_registered`, `session_seen`,
//! `tier_changed`, `status_reported`, `session_ended`, `lock_granted`, `lock_taken_over`,
//! `lock_extended`, `lock_released`, `lock_queued`, `lock_queue_left`, `message_sent`,
//! `task_created`, `task_claimed`, `task_updated`, `task_released`) with
//! `data: {json}` (the same object, its `event` field naming the kind). `?stats=N` adds
//! `daemon_stats` every N seconds.
//! The first event is `ready` (the stream is live from then on). Events of other daemons on
//! the same Redis are included. Keep-alive comments every `server.sse_keep_alive_seconds`;
//! the stream ends when the daemon stops. The router-wide Origin/Host guard applies.
//!
//! Message events carry sender, recipient, kind and id, never the body.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_util::sync::CancellationToken;

use crate::service::Coordinator;

/// Ends open `/events` streams when the daemon shuts down.
#[derive(Clone)]
pub struct StreamStop(pub CancellationToken);

/// `?stats=N`: also send `daemon_stats` (health, counters; see
/// [`crate::service::dashboard::DaemonFacts`]) every N seconds (1 to 60), as the dashboard does.
#[derive(Debug, serde::Deserialize)]
pub struct EventsQuery {
    stats: Option<u64>,
}

pub async fn events(
    State(coord): State<Arc<Coordinator>>,
    Extension(StreamStop(stop)): Extension<StreamStop>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let stats = match query.stats {
        None => None,
        Some(n @ 1..=60) => Some(Duration::from_secs(n)),
        Some(n) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "error": "invalid_argument",
                    "message": format!("stats={n} is out of range: give seconds from 1 to 60 between daemon_stats events, or leave it out")
                })),
            )
                .into_response();
        }
    };
    let keep_alive = Duration::from_secs(coord.settings().server.sse_keep_alive_seconds.max(1));
    // Subscribe before saying `ready`, so nothing after it is missed.
    let rx = coord.events().subscribe();
    let ready = SseEvent::default()
        .event("ready")
        .data(json!({ "event": "ready", "version": env!("CARGO_PKG_VERSION") }).to_string());
    let live = BroadcastStream::new(rx)
        .map(|item| {
            Ok(match item {
                Ok(event) => SseEvent::default()
                    .event(event.kind())
                    .data(serde_json::to_string(&event).unwrap_or_default()),
                Err(BroadcastStreamRecvError::Lagged(n)) => SseEvent::default()
                    .event("lagged")
                    .data(json!({ "event": "lagged", "missed": n }).to_string()),
            })
        })
        .boxed();
    let live = match stats {
        None => live,
        Some(every) => {
            let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(every));
            let daemon = ticks
                .then(move |_| {
                    let coord = coord.clone();
                    async move {
                        let facts = coord.daemon_facts().await;
                        let mut data = serde_json::to_value(&facts).unwrap_or_default();
                        if let Some(obj) = data.as_object_mut() {
                            obj.insert("event".into(), json!("daemon_stats"));
                        }
                        Ok::<_, Infallible>(
                            SseEvent::default()
                                .event("daemon_stats")
                                .data(data.to_string()),
                        )
                    }
                })
                .boxed();
            futures::stream::select(live, daemon).boxed()
        }
    };
    let stream = futures::stream::once(async move { Ok(ready) })
        .chain(live)
        .take_until(stop.cancelled_owned());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response()
}
