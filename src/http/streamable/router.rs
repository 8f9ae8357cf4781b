//! Which stream each server message of one Streamable-HTTP session goes to.
//!
//! A request's answer (and its progress notifications, cancellations and the server requests
//! it causes) goes on the stream of the POST that carried it; everything else goes on the
//! session's GET stream. The routes follow rmcp's own session manager, so clients see what
//! they saw before; what differs is that routing happens here, synchronously, in the task
//! that sends, instead of in a separate session task reached through channels.

use std::{collections::HashMap, time::Duration};

use rmcp::{
    model::{
        ClientJsonRpcMessage, ClientNotification, GetExtensions, GetMeta, JsonRpcMessage,
        ProgressToken, RequestId, ServerJsonRpcMessage, ServerNotification,
    },
    service::OriginatingRequestId,
    transport::streamable_http_server::session::ServerSseMessage,
};
use tokio::sync::mpsc;

use super::outlet::{EventId, Handed, HttpRequestId, Outlet};

/// Secondary GET streams kept open (keep-alive only) while the first one is live: a client
/// whose EventSource reconnects must not knock out its own notification stream.
const MAX_SHADOW_STREAMS: usize = 32;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
enum Resource {
    Request(RequestId),
    Progress(ProgressToken),
}

struct RequestStream {
    outlet: Outlet,
    resources: Vec<Resource>,
}

pub(crate) struct Router {
    /// The `retry:` hint of the priming event each POST stream opens with (SEP-1699).
    retry: Option<Duration>,
    next_request: HttpRequestId,
    requests: HashMap<HttpRequestId, RequestStream>,
    resources: HashMap<Resource, HttpRequestId>,
    common: Outlet,
    shadows: Vec<mpsc::Sender<ServerSseMessage>>,
}

impl Router {
    pub fn new(retry: Option<Duration>) -> Router {
        Router {
            retry,
            next_request: 0,
            requests: HashMap::new(),
            resources: HashMap::new(),
            common: Outlet::detached(None),
            shadows: Vec::new(),
        }
    }

    /// Opens the answer stream of a POSTed request, before the request reaches the service.
    /// `prime` sends the priming event first (not for `initialize`, answered in one piece).
    pub fn open_request(
        &mut self,
        message: &ClientJsonRpcMessage,
        prime: bool,
    ) -> mpsc::Receiver<ServerSseMessage> {
        let http_request = self.next_request;
        self.next_request = self.next_request.wrapping_add(1);
        let (mut outlet, rx) = Outlet::attached(Some(http_request));
        if prime && let Some(retry) = self.retry {
            outlet.push(None, Some(retry));
        }
        let mut resources = Vec::new();
        if let JsonRpcMessage::Request(request) = message {
            resources.push(Resource::Request(request.id.clone()));
            if let Some(token) = request.request.get_meta().get_progress_token() {
                resources.push(Resource::Progress(token));
            }
        }
        for resource in &resources {
            self.resources.insert(resource.clone(), http_request);
        }
        self.requests
            .insert(http_request, RequestStream { outlet, resources });
        rx
    }

    /// A client notification: a cancellation ends the cancelled request's stream.
    pub fn client_message(&mut self, message: &ClientJsonRpcMessage) {
        if let JsonRpcMessage::Notification(n) = message
            && let ClientNotification::CancelledNotification(c) = &n.notification
            && let Some(id) = &c.params.request_id
            && let Some(&http_request) = self.resources.get(&Resource::Request(id.clone()))
        {
            self.close_request(http_request);
        }
    }

    /// Sends one server message where it belongs. A final answer closes its POST stream.
    pub fn deliver(&mut self, message: ServerJsonRpcMessage) {
        let (target, last) = self.route(&message);
        let Some(stream) = target.and_then(|id| self.requests.get_mut(&id)) else {
            if self.common.push(Some(message), None) == Handed::Stalled {
                tracing::warn!(
                    "a Streamable-HTTP client stopped reading its GET stream; closed it \
                     (it may resume with Last-Event-ID)"
                );
            }
            return;
        };
        if stream.outlet.push(Some(message), None) == Handed::Stalled {
            tracing::warn!("a Streamable-HTTP client stopped reading a POST's answer stream");
        }
        if last && let Some(id) = target {
            self.close_request(id);
        }
    }

    /// Opens the GET stream: the first live one gets every notification, replayed from the
    /// start of the cache; while it lives, further GETs get keep-alive-only shadows.
    pub fn open_common(&mut self) -> mpsc::Receiver<ServerSseMessage> {
        if self.common.is_live() {
            self.shadows.retain(|tx| !tx.is_closed());
            if self.shadows.len() >= MAX_SHADOW_STREAMS {
                self.shadows.remove(0);
            }
            let (tx, rx) = mpsc::channel(1);
            self.shadows.push(tx);
            return rx;
        }
        let rx = self.common.attach();
        // From 0: a stream that never reached an index cannot be refused.
        let _ = self.common.replay_from(0);
        rx
    }

    /// Resumes a stream after `Last-Event-ID`.
    pub fn resume(&mut self, last: EventId) -> Result<mpsc::Receiver<ServerSseMessage>, String> {
        match last.request {
            None => {
                if self.common.is_live() {
                    return Ok(self.open_common());
                }
                let rx = self.common.attach();
                self.common.replay_from(last.index)?;
                Ok(rx)
            }
            Some(id) => {
                let stream = self.requests.get_mut(&id).ok_or_else(|| {
                    format!("the request stream of event {last} has ended; its answer was sent")
                })?;
                let rx = stream.outlet.attach();
                stream.outlet.replay_from(last.index)?;
                Ok(rx)
            }
        }
    }

    /// Ends every stream (the session is over).
    pub fn close_all(&mut self) {
        self.requests.clear();
        self.resources.clear();
        self.common.detach();
        self.shadows.clear();
    }

    fn close_request(&mut self, id: HttpRequestId) {
        if let Some(stream) = self.requests.remove(&id) {
            for resource in stream.resources {
                self.resources.remove(&resource);
            }
        }
    }

    /// The POST stream a message belongs to (if it is still open), and whether it is the
    /// request's final answer.
    fn route(&self, message: &ServerJsonRpcMessage) -> (Option<HttpRequestId>, bool) {
        let by = |resource: Resource| self.resources.get(&resource).copied();
        match message {
            JsonRpcMessage::Response(r) => (by(Resource::Request(r.id.clone())), true),
            JsonRpcMessage::Error(e) => {
                (e.id.clone().and_then(|id| by(Resource::Request(id))), true)
            }
            JsonRpcMessage::Request(r) => {
                // SEP-2260: a server request caused by a client request rides its stream.
                let origin = r.request.extensions().get::<OriginatingRequestId>();
                (
                    origin.and_then(|o| by(Resource::Request(o.0.clone()))),
                    false,
                )
            }
            JsonRpcMessage::Notification(n) => match &n.notification {
                ServerNotification::ProgressNotification(p) => (
                    by(Resource::Progress(p.params.progress_token.clone())),
                    false,
                ),
                ServerNotification::CancelledNotification(c) => (
                    c.params
                        .request_id
                        .clone()
                        .and_then(|id| by(Resource::Request(id))),
                    false,
                ),
                _ => (None, false),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(v: serde_json::Value) -> ClientJsonRpcMessage {
        serde_json::from_value(v).expect("a client message")
    }

    fn server(v: serde_json::Value) -> ServerJsonRpcMessage {
        serde_json::from_value(v).expect("a server message")
    }

    fn call(id: u64, progress: Option<&str>) -> ClientJsonRpcMessage {
        let mut params = json!({"name": "whoami", "arguments": {}});
        if let Some(token) = progress {
            params["_meta"] = json!({"progressToken": token});
        }
        client(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}))
    }

    fn answer(id: u64) -> ServerJsonRpcMessage {
        server(json!({"jsonrpc": "2.0", "id": id, "result": {"content": []}}))
    }

    fn progress(token: &str) -> ServerJsonRpcMessage {
        server(json!({"jsonrpc": "2.0", "method": "notifications/progress",
            "params": {"progressToken": token, "progress": 1}}))
    }

    fn updated() -> ServerJsonRpcMessage {
        server(
            json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
            "params": {"uri": "coord://locks/x"}}),
        )
    }

    /// What a stream has received so far: event ids, `None` standing for the end.
    fn drain(rx: &mut mpsc::Receiver<ServerSseMessage>) -> Vec<Option<String>> {
        let mut out = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(m) => out.push(m.event_id),
                Err(mpsc::error::TryRecvError::Empty) => return out,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    out.push(None);
                    return out;
                }
            }
        }
    }

    fn id(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn an_answer_goes_on_its_posts_stream_after_the_priming_event_and_ends_it() {
        let mut router = Router::new(Some(Duration::from_secs(3)));
        let mut first = router.open_request(&call(7, None), true);
        let mut second = router.open_request(&call(8, None), true);
        router.deliver(answer(8));
        router.deliver(answer(7));
        assert_eq!(drain(&mut first), [id("0/0"), id("1/0"), None]);
        assert_eq!(drain(&mut second), [id("0/1"), id("1/1"), None]);
        assert!(router.requests.is_empty() && router.resources.is_empty());
    }

    #[test]
    fn progress_rides_its_request_and_other_notifications_the_get_stream() {
        let mut router = Router::new(None);
        let mut post = router.open_request(&call(1, Some("p1")), true);
        let mut get = router.open_common();
        router.deliver(progress("p1"));
        router.deliver(updated());
        router.deliver(progress("nobody"));
        router.deliver(answer(1));
        router.deliver(progress("p1"));
        assert_eq!(drain(&mut post), [id("0/0"), id("1/0"), None]);
        assert_eq!(drain(&mut get), [id("0"), id("1"), id("2")]);
    }

    #[test]
    fn notifications_before_the_get_stream_are_replayed_when_it_opens() {
        let mut router = Router::new(None);
        router.deliver(updated());
        router.deliver(updated());
        let mut get = router.open_common();
        assert_eq!(drain(&mut get), [id("0"), id("1")]);
        // A second GET while the first lives is a keep-alive shadow: nothing is taken away.
        let mut shadow = router.open_common();
        router.deliver(updated());
        assert_eq!(drain(&mut get), [id("2")]);
        assert!(drain(&mut shadow).is_empty());
    }

    #[test]
    fn a_dropped_get_stream_resumes_after_its_last_event_id() {
        let mut router = Router::new(None);
        let get = router.open_common();
        router.deliver(updated());
        router.deliver(updated());
        drop(get);
        router.deliver(updated());
        let mut resumed = router.resume("1".parse().unwrap()).unwrap();
        assert_eq!(drain(&mut resumed), [id("1"), id("2")]);
        drop(resumed);
        assert!(router.resume("9".parse().unwrap()).is_err(), "never sent");
    }

    #[test]
    fn an_interrupted_post_stream_resumes_while_its_request_runs_and_not_after() {
        let mut router = Router::new(Some(Duration::from_secs(3)));
        let post = router.open_request(&call(5, Some("t")), true);
        router.deliver(progress("t"));
        drop(post);
        let mut resumed = router.resume("1/0".parse().unwrap()).unwrap();
        router.deliver(answer(5));
        assert_eq!(drain(&mut resumed), [id("1/0"), id("2/0"), None]);
        assert!(router.resume("2/0".parse().unwrap()).is_err());
    }

    #[test]
    fn a_client_cancellation_ends_the_cancelled_requests_stream() {
        let mut router = Router::new(None);
        let mut post = router.open_request(&call(3, None), true);
        router.client_message(&client(json!({"jsonrpc": "2.0",
            "method": "notifications/cancelled", "params": {"requestId": 3}})));
        assert_eq!(drain(&mut post), [None]);
        // A late answer has nowhere to go but the GET stream, as with rmcp's manager.
        let mut get = router.open_common();
        router.deliver(answer(3));
        assert_eq!(drain(&mut get), [id("0")]);
    }

    #[test]
    fn closing_ends_every_stream() {
        let mut router = Router::new(None);
        let mut post = router.open_request(&call(1, None), true);
        let mut get = router.open_common();
        let mut shadow = router.open_common();
        router.close_all();
        assert_eq!(drain(&mut post), [None]);
        assert_eq!(drain(&mut get), [None]);
        assert_eq!(drain(&mut shadow), [None]);
    }
}
