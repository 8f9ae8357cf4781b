//! One SSE stream of a Streamable-HTTP session (a POST's answer stream or the GET stream),
//! with the event ids and the short replay cache that `Last-Event-ID` resumes from.
//!
//! Messages are handed over with `try_send`, never awaited: the service hands us each
//! message synchronously, so they keep their order, and a client that stopped reading
//! loses its stream (it may resume) instead of stalling the whole session.

use std::{collections::VecDeque, fmt, str::FromStr, time::Duration};

use rmcp::{
    model::ServerJsonRpcMessage, transport::streamable_http_server::session::ServerSseMessage,
};
use tokio::sync::mpsc::{self, error::TrySendError};

/// Numbers the POST answer streams of one session.
pub(crate) type HttpRequestId = u64;

/// Messages queued for one stream before its client is taken to have stopped reading.
/// Boxing is not needed: a `ServerSseMessage` is ~50 bytes (the message itself is shared).
pub(crate) const STREAM_QUEUE: usize = 64;
/// Messages kept per stream for a client that resumes with `Last-Event-ID` (as rmcp's
/// own session manager keeps).
pub(crate) const REPLAY_CACHE: usize = 16;

/// `<index>` on the GET stream, `<index>/<http request>` on a POST's answer stream: the
/// form rmcp's own session manager uses, so clients see the same ids as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventId {
    pub request: Option<HttpRequestId>,
    pub index: usize,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.request {
            Some(request) => write!(f, "{}/{request}", self.index),
            None => write!(f, "{}", self.index),
        }
    }
}

impl FromStr for EventId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not an event id of this server (`<n>` or `<n>/<n>`)");
        let (index, request) = match s.split_once('/') {
            Some((index, request)) => (index, Some(request.parse().map_err(|_| bad())?)),
            None => (s, None),
        };
        Ok(EventId {
            request,
            index: index.parse().map_err(|_| bad())?,
        })
    }
}

/// What became of a message handed to an outlet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Handed {
    /// Queued on the live stream.
    Sent,
    /// No client reads this stream now; the message is only in the replay cache.
    Cached,
    /// The queue was full: the stream was closed (the client may resume from the cache).
    Stalled,
}

pub(crate) struct Outlet {
    tx: Option<mpsc::Sender<ServerSseMessage>>,
    cache: VecDeque<ServerSseMessage>,
    request: Option<HttpRequestId>,
    next_index: usize,
}

impl Outlet {
    /// An outlet with no reader yet (the GET stream before the client opens it).
    pub fn detached(request: Option<HttpRequestId>) -> Outlet {
        Outlet {
            tx: None,
            cache: VecDeque::new(),
            request,
            next_index: 0,
        }
    }

    /// A new reader; `None` for a stream that just opened.
    pub fn attached(request: Option<HttpRequestId>) -> (Outlet, mpsc::Receiver<ServerSseMessage>) {
        let mut outlet = Outlet::detached(request);
        let rx = outlet.attach();
        (outlet, rx)
    }

    pub fn is_live(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Gives the stream a new reader (the old one, if any, ends).
    pub fn attach(&mut self) -> mpsc::Receiver<ServerSseMessage> {
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        self.tx = Some(tx);
        rx
    }

    /// Ends the stream for its reader; the cache stays for a resume.
    pub fn detach(&mut self) {
        self.tx = None;
    }

    /// Replays the cached events from `index` on (inclusive, as rmcp does: a client may see
    /// its last event twice). Events older than the cache are gone; what is kept is replayed,
    /// as rmcp's own session manager does. An index this stream never reached is refused.
    pub fn replay_from(&mut self, index: usize) -> Result<(), String> {
        if index > self.next_index {
            return Err(format!(
                "event {index} was never sent on this stream (the next is {}); reconnect \
                 without Last-Event-ID",
                self.next_index
            ));
        }
        let replay: Vec<ServerSseMessage> = self
            .cache
            .iter()
            .filter(|m| index_of(m) >= index)
            .cloned()
            .collect();
        for message in replay {
            if self.hand(message) == Handed::Stalled {
                break;
            }
        }
        Ok(())
    }

    /// Numbers a message (or, without one, a priming event carrying `retry`), caches it and
    /// queues it for the reader.
    pub fn push(
        &mut self,
        message: Option<ServerJsonRpcMessage>,
        retry: Option<Duration>,
    ) -> Handed {
        let id = EventId {
            request: self.request,
            index: self.next_index,
        };
        self.next_index += 1;
        let event = match (message, retry) {
            (Some(message), _) => ServerSseMessage::new(id.to_string(), message),
            (None, retry) => ServerSseMessage::priming(id.to_string(), retry.unwrap_or_default()),
        };
        if self.cache.len() >= REPLAY_CACHE {
            self.cache.pop_front();
        }
        self.cache.push_back(event.clone());
        self.hand(event)
    }

    fn hand(&mut self, event: ServerSseMessage) -> Handed {
        let Some(tx) = &self.tx else {
            return Handed::Cached;
        };
        match tx.try_send(event) {
            Ok(()) => Handed::Sent,
            Err(TrySendError::Closed(_)) => {
                self.tx = None;
                Handed::Cached
            }
            Err(TrySendError::Full(_)) => {
                self.tx = None;
                Handed::Stalled
            }
        }
    }
}

fn index_of(message: &ServerSseMessage) -> usize {
    message
        .event_id
        .as_deref()
        .and_then(|id| id.parse::<EventId>().ok())
        .map_or(0, |id| id.index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{ServerJsonRpcMessage, ServerNotification, ToolListChangedNotification};

    fn note() -> ServerJsonRpcMessage {
        ServerJsonRpcMessage::notification(ServerNotification::ToolListChangedNotification(
            ToolListChangedNotification::default(),
        ))
    }

    fn ids(rx: &mut mpsc::Receiver<ServerSseMessage>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push(m.event_id.unwrap());
        }
        out
    }

    #[test]
    fn event_ids_read_back_and_bad_ones_are_refused() {
        for id in ["0", "17", "3/9"] {
            assert_eq!(id.parse::<EventId>().unwrap().to_string(), id);
        }
        for bad in ["", "x", "1/", "/2", "1/2/3", "-1"] {
            assert!(bad.parse::<EventId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_detached_outlet_caches_and_a_reader_gets_the_cache_replayed() {
        let mut outlet = Outlet::detached(None);
        assert_eq!(outlet.push(Some(note()), None), Handed::Cached);
        assert_eq!(outlet.push(Some(note()), None), Handed::Cached);
        let mut rx = outlet.attach();
        outlet.replay_from(0).unwrap();
        assert_eq!(outlet.push(Some(note()), None), Handed::Sent);
        assert_eq!(ids(&mut rx), ["0", "1", "2"]);
        // A resume from event 1 replays 1 and 2 (inclusive) to the new reader.
        let mut again = outlet.attach();
        outlet.replay_from(1).unwrap();
        assert_eq!(ids(&mut again), ["1", "2"]);
        assert!(rx.try_recv().is_err(), "the old reader ended");
    }

    #[test]
    fn the_cache_keeps_the_newest_and_refuses_a_resume_from_the_future() {
        let mut outlet = Outlet::detached(Some(4));
        for _ in 0..REPLAY_CACHE + 5 {
            outlet.push(Some(note()), None);
        }
        let mut rx = outlet.attach();
        assert!(outlet.replay_from(REPLAY_CACHE + 6).is_err());
        outlet.replay_from(2).unwrap();
        assert_eq!(ids(&mut rx).len(), REPLAY_CACHE, "only the newest are kept");
        outlet.replay_from(REPLAY_CACHE + 3).unwrap();
        assert_eq!(
            ids(&mut rx),
            [
                format!("{}/4", REPLAY_CACHE + 3),
                format!("{}/4", REPLAY_CACHE + 4)
            ]
        );
    }

    #[test]
    fn a_reader_that_stops_reading_loses_its_stream_not_the_messages() {
        let (mut outlet, rx) = Outlet::attached(None);
        let mut handed = Vec::new();
        for _ in 0..STREAM_QUEUE + 1 {
            handed.push(outlet.push(Some(note()), None));
        }
        assert_eq!(handed.last(), Some(&Handed::Stalled));
        assert!(!outlet.is_live());
        assert_eq!(outlet.push(Some(note()), None), Handed::Cached);
        drop(rx);
    }
}
