//! Tunables of the legacy SSE transport.

use std::time::Duration;

/// Settings for [`super::SseServer`].
///
/// Every limit exists because a client we do not control sits on the other side: a stream
/// that nobody reads, a body that never ends, a POST storm. `Default` gives values suited to a
/// daemon on loopback serving a few dozen agent sessions.
#[derive(Debug, Clone)]
pub struct SseConfig {
    /// How often an idle stream gets a `: ping` comment. Proxies and clients drop silent
    /// streams, and hyper only notices a vanished client when it writes, so this also bounds
    /// how long a dead connection's service keeps running.
    pub keep_alive: Duration,
    /// Capacity (in messages) of the queue from the service to the SSE stream. When it is full
    /// the service waits up to `outbound_send_timeout`, then the connection is closed.
    pub outbound_queue: usize,
    /// Largest accepted POST body, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Path of the POST endpoint announced in the `endpoint` event, e.g. `/message`.
    pub message_path: String,
    /// How long one outbound message may wait for room in a full outbound queue before the
    /// connection is judged stalled (a client that stopped reading) and closed.
    pub outbound_send_timeout: Duration,
    /// Capacity (in messages) of the queue from POST handlers to the service.
    pub inbound_queue: usize,
    /// How long a POST may wait for room in a full inbound queue before it gets 503.
    pub inbound_send_timeout: Duration,
}

impl Default for SseConfig {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(15),
            outbound_queue: 256,
            max_body_bytes: 4 * 1024 * 1024,
            message_path: "/message".to_owned(),
            outbound_send_timeout: Duration::from_secs(5),
            inbound_queue: 64,
            inbound_send_timeout: Duration::from_secs(5),
        }
    }
}

impl SseConfig {
    /// Queue capacities must be at least 1 (`tokio::sync::mpsc` panics on 0), and the message
    /// path must be absolute for axum's router; fix up rather than panic on a bad config.
    pub(crate) fn normalized(mut self) -> Self {
        self.outbound_queue = self.outbound_queue.max(1);
        self.inbound_queue = self.inbound_queue.max(1);
        if !self.message_path.starts_with('/') {
            self.message_path.insert(0, '/');
        }
        self
    }
}
