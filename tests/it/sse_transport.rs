//! End-to-end tests of the legacy SSE transport: a real axum server on 127.0.0.1:0, driven
//! by raw HTTP (to see statuses and the event stream as bytes) and by rmcp's own client
//! through the test SSE client transport.
//!
//! Waits use generous deadlines only to turn a hang into a failure; nothing asserts timings.
//! They live in tests/ (not next to the adapter) so they share the test SSE client in
//! `support/sse_client.rs` with the other integration tests.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::Router;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{
        CallToolRequestParams, CallToolResult, ClientConfig, InitializeRequestParams,
        InitializeResult, ServerCapabilities, ServerConfig,
    },
    schemars,
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use serde_json::{Value, json};
use tokio::{io::AsyncWriteExt, sync::Notify};
use tokio_util::sync::CancellationToken;

use crate::support::sse_client::{SseClientTransport, SseEvent, SseEventParser};
use mcp_coord::http::sse::{SseConfig, SseConnectionInfo, SseServer, SseSessionBinding};

/// Upper bound for anything that should happen "soon"; only reached when something hangs.
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// A tiny MCP server under test
// ---------------------------------------------------------------------------------------

/// State shared by every connection's handler, for the test to observe.
#[derive(Default)]
struct Probe {
    /// `requested_session` of each factory call, in order.
    factory_calls: Mutex<Vec<Option<String>>>,
    sleep_started: Notify,
    sleep_cancelled: Notify,
    sleeps_cancelled: AtomicUsize,
    initialize_entered: Notify,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct BlobArgs {
    /// Size of the returned text, in KiB.
    kib: usize,
}

#[derive(Clone)]
struct TestServer {
    probe: Arc<Probe>,
    /// While set and not cancelled, `initialize` waits on it: lets a test hold the service
    /// busy so its inbound queue fills up.
    init_gate: Option<CancellationToken>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl TestServer {
    fn new(probe: Arc<Probe>, init_gate: Option<CancellationToken>) -> Self {
        Self {
            probe,
            init_gate,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Report the session named by the POST (query, header) and the binding")]
    fn whoami(&self, ctx: RequestContext<RoleServer>) -> String {
        let parts = ctx.extensions.get::<http::request::Parts>();
        let query = parts.and_then(|parts| mcp_coord::mcp::identity::query_param(parts, "session"));
        let header = parts
            .and_then(|parts| parts.headers.get("x-coord-session"))
            .and_then(|value| value.to_str().ok());
        let binding = ctx.extensions.get::<SseSessionBinding>();
        json!({
            "has_parts": parts.is_some(),
            "query": query,
            "header": header,
            "bound": binding.and_then(|binding| binding.session.clone()),
            "connection_id": binding.map(|binding| binding.connection_id.clone()),
        })
        .to_string()
    }

    #[tool(description = "Sleep until cancelled (or a minute)")]
    async fn sleep(&self, ctx: RequestContext<RoleServer>) -> String {
        self.probe.sleep_started.notify_one();
        tokio::select! {
            () = ctx.ct.cancelled() => {
                self.probe.sleeps_cancelled.fetch_add(1, Ordering::SeqCst);
                self.probe.sleep_cancelled.notify_one();
                "cancelled".to_owned()
            }
            () = tokio::time::sleep(Duration::from_secs(60)) => "slept".to_owned(),
        }
    }

    #[tool(description = "Return a large text")]
    fn blob(&self, Parameters(BlobArgs { kib }): Parameters<BlobArgs>) -> String {
        "x".repeat(kib.min(4096) * 1024)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        self.probe.initialize_entered.notify_one();
        if let Some(gate) = &self.init_gate {
            gate.cancelled().await;
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }
}

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

struct Harness {
    server: SseServer,
    probe: Arc<Probe>,
    /// The `shutdown` token given to `SseServer::new`.
    shutdown: CancellationToken,
    /// Stops the axum server itself (kept separate so tests can shut down the SSE server
    /// while HTTP still answers).
    http_stop: CancellationToken,
    base: String,
    http: reqwest::Client,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.http_stop.cancel();
    }
}

fn test_config() -> SseConfig {
    SseConfig {
        // Short, so hyper notices dropped clients quickly (it only sees them on a write).
        keep_alive: Duration::from_millis(100),
        max_body_bytes: 64 * 1024,
        ..SseConfig::default()
    }
}

async fn start(config: SseConfig) -> Harness {
    start_with(config, None, None).await
}

async fn start_with(
    config: SseConfig,
    init_gate: Option<CancellationToken>,
    nest: Option<&str>,
) -> Harness {
    let probe = Arc::new(Probe::default());
    let shutdown = CancellationToken::new();
    let factory_probe = probe.clone();
    let server = SseServer::new(
        config,
        move |info: &SseConnectionInfo| {
            factory_probe
                .factory_calls
                .lock()
                .expect("probe lock")
                .push(info.requested_session.clone());
            TestServer::new(factory_probe.clone(), init_gate.clone())
        },
        shutdown.clone(),
    );
    let app = match nest {
        Some(prefix) => Router::new().nest(prefix, server.router()),
        None => Router::new().merge(server.router()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let http_stop = CancellationToken::new();
    tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(http_stop.clone().cancelled_owned())
            .into_future(),
    );
    Harness {
        server,
        probe,
        shutdown,
        http_stop,
        base: format!("http://{addr}{}", nest.unwrap_or("")),
        http: reqwest::Client::new(),
    }
}

impl Harness {
    async fn post(&self, endpoint: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.absolute(endpoint))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    async fn post_json(&self, endpoint: &str, message: &Value) -> reqwest::StatusCode {
        self.post(endpoint, message.to_string()).await.status()
    }

    /// `endpoint` as announced is relative to the server root.
    fn absolute(&self, endpoint: &str) -> String {
        let root = self
            .base
            .find("//")
            .and_then(|scheme| self.base[scheme + 2..].find('/').map(|p| scheme + 2 + p))
            .map_or(self.base.as_str(), |path_start| &self.base[..path_start]);
        format!("{root}{endpoint}")
    }

    async fn open_raw(&self, query: &str, headers: &[(&str, &str)]) -> RawStream {
        let mut request = self.http.get(format!("{}/sse{query}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("GET /sse");
        assert_eq!(response.status(), 200, "GET /sse refused");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        let mut stream = RawStream {
            body: Box::pin(response.bytes_stream()),
            parser: SseEventParser::default(),
            ready: VecDeque::new(),
            endpoint: String::new(),
        };
        let first = stream.next_event().await.expect("endpoint event");
        assert_eq!(first.event, "endpoint", "first event must be the endpoint");
        stream.endpoint = first.data;
        stream
    }

    /// Opens a raw stream and completes the MCP handshake on it.
    async fn open_initialized(&self, query: &str) -> RawStream {
        let mut stream = self.open_raw(query, &[]).await;
        let status = self.post_json(&stream.endpoint, &initialize(1)).await;
        assert_eq!(status, 202);
        let reply = stream.next_message().await.expect("initialize reply");
        assert_eq!(reply["id"], 1, "{reply}");
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(self.post_json(&stream.endpoint, &initialized).await, 202);
        stream
    }

    async fn wait_for_connections(&self, expected: usize) {
        let result = tokio::time::timeout(DEADLINE, async {
            while self.server.open_connections() != expected {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            result.is_ok(),
            "open_connections stayed {} instead of {expected}",
            self.server.open_connections()
        );
    }

    async fn rmcp_client(
        &self,
        query: &str,
        headers: reqwest::header::HeaderMap,
    ) -> rmcp::service::RunningService<rmcp::RoleClient, InitializeRequestParams> {
        let transport =
            SseClientTransport::connect_with_headers(&format!("{}/sse{query}", self.base), headers)
                .await
                .expect("SSE client connects");
        ClientConfig::default()
            .serve(transport)
            .await
            .expect("MCP handshake over SSE")
    }
}

/// The raw body of a GET /sse, parsed into events.
struct RawStream {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    parser: SseEventParser,
    ready: VecDeque<SseEvent>,
    endpoint: String,
}

impl RawStream {
    /// Next event, or `None` when the stream ended. Fails the test on a hang.
    async fn next_event(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(DEADLINE, async {
            loop {
                if let Some(event) = self.ready.pop_front() {
                    return Some(event);
                }
                match self.body.next().await {
                    Some(Ok(chunk)) => self.ready.extend(self.parser.feed(&chunk)),
                    Some(Err(_)) | None => return None,
                }
            }
        })
        .await
        .expect("SSE stream went silent")
    }

    /// Next `message` event as JSON.
    async fn next_message(&mut self) -> Option<Value> {
        let event = self.next_event().await?;
        assert_eq!(event.event, "message");
        Some(serde_json::from_str(&event.data).expect("message data is JSON"))
    }

    fn connection_id(&self) -> String {
        self.endpoint
            .split("sessionId=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .expect("sessionId in endpoint")
            .to_owned()
    }
}

fn initialize(id: u64) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": "2024-11-05",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"}
        }
    })
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}
    })
}

fn text_of(result: &CallToolResult) -> Value {
    let text = result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|text| text.text.clone())
        .expect("text content");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rmcp_client_initializes_lists_and_calls_tools() {
    let h = start(test_config()).await;
    let client = h.rmcp_client("?session=alpha", Default::default()).await;
    assert_eq!(h.server.open_connections(), 1);

    let tools = client.list_tools(None).await.expect("tools/list");
    let mut names: Vec<_> = tools.tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["blob", "sleep", "whoami"]);

    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .expect("tools/call");
    let seen = text_of(&result);
    assert_eq!(
        seen["has_parts"], true,
        "POST parts must reach the tool: {seen}"
    );
    assert_eq!(seen["query"], "alpha", "endpoint keeps ?session=: {seen}");
    assert_eq!(seen["bound"], "alpha");

    client.cancel().await.expect("client closes");
    h.wait_for_connections(0).await;
    assert_eq!(
        *h.probe.factory_calls.lock().expect("probe lock"),
        [Some("alpha".to_owned())]
    );
}

#[tokio::test]
async fn session_header_binds_and_is_inherited() {
    let h = start(test_config()).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-coord-session", "beta".parse().expect("header value"));
    let with_header = h.rmcp_client("", headers).await;
    let seen = text_of(
        &with_header
            .call_tool(CallToolRequestParams::new("whoami"))
            .await
            .expect("tools/call"),
    );
    assert_eq!(seen["header"], "beta", "{seen}");
    assert_eq!(seen["bound"], "beta", "{seen}");

    // Two unnamed connections get distinct ids and no binding.
    let a = h.rmcp_client("", Default::default()).await;
    let b = h.rmcp_client("", Default::default()).await;
    let seen_a = text_of(
        &a.call_tool(CallToolRequestParams::new("whoami"))
            .await
            .expect("a"),
    );
    let seen_b = text_of(
        &b.call_tool(CallToolRequestParams::new("whoami"))
            .await
            .expect("b"),
    );
    assert_eq!(seen_a["bound"], Value::Null);
    assert_ne!(seen_a["connection_id"], seen_b["connection_id"]);
    assert_eq!(h.server.open_connections(), 3);
}

#[tokio::test]
async fn endpoint_event_then_202_and_reply_on_stream() {
    let h = start(test_config()).await;
    let mut stream = h.open_raw("?session=pane_1.a-b", &[]).await;
    let id = stream.connection_id();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id} is a uuid");
    assert_eq!(
        stream.endpoint,
        format!("/message?sessionId={id}&session=pane_1.a-b"),
        "relative endpoint URI"
    );

    let response = h.post(&stream.endpoint, initialize(7).to_string()).await;
    assert_eq!(response.status(), 202);
    let reply = stream.next_message().await.expect("reply");
    assert_eq!(reply["id"], 7);
    assert!(reply["result"]["serverInfo"].is_object(), "{reply}");
    assert_eq!(
        *h.probe.factory_calls.lock().expect("probe lock"),
        [Some("pane_1.a-b".to_owned())]
    );
}

#[tokio::test]
async fn nested_router_announces_prefixed_endpoint() {
    let h = start_with(test_config(), None, Some("/legacy")).await;
    let mut stream = h.open_raw("", &[]).await;
    assert!(
        stream.endpoint.starts_with("/legacy/message?sessionId="),
        "{}",
        stream.endpoint
    );
    assert_eq!(h.post_json(&stream.endpoint, &initialize(1)).await, 202);
    assert_eq!(stream.next_message().await.expect("reply")["id"], 1);
}

#[tokio::test]
async fn keep_alive_pings_are_sent() {
    let h = start(test_config()).await;
    let mut stream = h.open_raw("", &[]).await;
    let pinged = tokio::time::timeout(DEADLINE, async {
        while stream.parser.comments < 2 {
            match stream.body.next().await {
                Some(Ok(chunk)) => stream.ready.extend(stream.parser.feed(&chunk)),
                _ => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(
        pinged,
        Ok(true),
        "expected `: ping` comments on an idle stream"
    );
}

#[tokio::test]
async fn post_errors_are_specific_and_the_connection_survives() {
    let h = start(test_config()).await;
    let mut stream = h.open_raw("", &[]).await;

    // Missing sessionId.
    let response = h.post("/message", initialize(1).to_string()).await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("sessionId")
    );

    // Unknown sessionId.
    let response = h
        .post("/message?sessionId=nope", initialize(1).to_string())
        .await;
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap_or_default();
    assert!(
        body.contains("unknown") && body.contains("GET /sse"),
        "{body}"
    );

    // Not JSON.
    let response = h.post(&stream.endpoint, "{not json").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON-RPC error body");
    assert_eq!(body["error"]["code"], -32700, "{body}");

    // A batch, empty or not.
    let response = h.post(&stream.endpoint, "[]").await;
    assert_eq!(response.status(), 400);
    let batch = json!([{"jsonrpc": "2.0", "id": 9, "method": "ping"}]);
    let response = h.post(&stream.endpoint, batch.to_string()).await;
    assert_eq!(response.status(), 400);

    // JSON, but not JSON-RPC; it has an id, so the error also arrives on the stream.
    let bad = json!({"id": 5, "method": "initialize", "params": "nope"});
    let response = h.post(&stream.endpoint, bad.to_string()).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON-RPC error body");
    assert_eq!(body["error"]["code"], -32600, "{body}");
    assert_eq!(body["id"], 5, "{body}");
    let echoed = stream.next_message().await.expect("error on stream");
    assert_eq!(echoed["id"], 5, "{echoed}");
    assert!(echoed["error"].is_object(), "{echoed}");

    // The connection still works.
    assert_eq!(h.post_json(&stream.endpoint, &initialize(2)).await, 202);
    assert_eq!(stream.next_message().await.expect("reply")["id"], 2);
}

#[tokio::test]
async fn oversize_bodies_get_413_with_or_without_content_length() {
    let h = start(test_config()).await;
    let stream = h.open_raw("", &[]).await;
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{{\"pad\":\"{}\"}}}}",
        "y".repeat(100 * 1024)
    );

    let response = h.post(&stream.endpoint, huge.clone()).await;
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap_or_default().contains("limit"));

    // Chunked: no Content-Length, so the limit must hold while reading.
    let chunks: Vec<Result<Bytes, std::io::Error>> = huge
        .into_bytes()
        .chunks(8 * 1024)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let response = h.post(&stream.endpoint, body).await;
    assert_eq!(response.status(), 413);

    assert_eq!(h.server.open_connections(), 1, "the connection survives");
}

#[tokio::test]
async fn posts_cannot_change_the_bound_session() {
    let h = start(test_config()).await;
    let stream = h.open_raw("?session=alpha", &[]).await;
    let id = stream.connection_id();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});

    let other = format!("/message?sessionId={id}&session=beta");
    let response = h.post(&other, ping.to_string()).await;
    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("alpha") && body.contains("beta"), "{body}");

    let response = h
        .http
        .post(h.absolute(&format!("/message?sessionId={id}")))
        .header("x-coord-session", "beta")
        .body(ping.to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);

    // Same name, or no name at all (inherits), is fine.
    assert_eq!(h.post_json(&stream.endpoint, &ping).await, 202);
    let bare = format!("/message?sessionId={id}");
    assert_eq!(h.post_json(&bare, &ping).await, 202);

    // An unnamed connection cannot later claim a name.
    let unnamed = h.open_raw("", &[]).await;
    let claim = format!("{}&session=alpha", unnamed.endpoint);
    assert_eq!(h.post_json(&claim, &ping).await, 403);

    // A GET naming two different sessions is refused outright.
    let response = h
        .http
        .get(format!("{}/sse?session=alpha", h.base))
        .header("x-coord-session", "beta")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn dropped_stream_cancels_service_and_inflight_calls() {
    let h = start(test_config()).await;
    let stream = h.open_initialized("").await;
    let endpoint = stream.endpoint.clone();
    assert_eq!(h.server.open_connections(), 1);

    let started = h.probe.sleep_started.notified();
    assert_eq!(
        h.post_json(&endpoint, &call(9, "sleep", json!({}))).await,
        202
    );
    tokio::time::timeout(DEADLINE, started)
        .await
        .expect("sleep tool started");

    let cancelled = h.probe.sleep_cancelled.notified();
    drop(stream); // The client goes away mid-call.
    tokio::time::timeout(DEADLINE, cancelled)
        .await
        .expect("in-flight tool call cancelled after the stream dropped");
    assert_eq!(h.probe.sleeps_cancelled.load(Ordering::SeqCst), 1);
    h.wait_for_connections(0).await;

    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(h.post_json(&endpoint, &ping).await, 404);
}

#[tokio::test]
async fn rmcp_client_drop_cancels_sleeping_call() {
    let h = start(test_config()).await;
    let client = h.rmcp_client("", Default::default()).await;
    let peer = client.peer().clone();
    let started = h.probe.sleep_started.notified();
    let call =
        tokio::spawn(async move { peer.call_tool(CallToolRequestParams::new("sleep")).await });
    tokio::time::timeout(DEADLINE, started)
        .await
        .expect("sleep tool started");
    let cancelled = h.probe.sleep_cancelled.notified();
    drop(client);
    tokio::time::timeout(DEADLINE, cancelled)
        .await
        .expect("tool call cancelled when the rmcp client went away");
    h.wait_for_connections(0).await;
    call.abort();
}

#[tokio::test]
async fn shutdown_ends_streams_and_services() {
    let h = start(test_config()).await;
    let mut first = h.open_initialized("").await;
    let mut second = h.open_raw("?session=s2", &[]).await;
    let started = h.probe.sleep_started.notified();
    assert_eq!(
        h.post_json(&first.endpoint, &call(3, "sleep", json!({})))
            .await,
        202
    );
    tokio::time::timeout(DEADLINE, started)
        .await
        .expect("sleep started");
    assert_eq!(h.server.open_connections(), 2);

    let cancelled = h.probe.sleep_cancelled.notified();
    h.shutdown.cancel();
    tokio::time::timeout(DEADLINE, cancelled)
        .await
        .expect("shutdown cancels in-flight calls");
    // Both streams end (no more events; pings stop with the stream).
    while first.next_event().await.is_some() {}
    while second.next_event().await.is_some() {}
    h.wait_for_connections(0).await;

    // New streams are refused while shutting down.
    let response = h
        .http
        .get(format!("{}/sse", h.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 503);
}

/// A client that opens a stream and never reads it must not pin the server: once the
/// outbound queue stays full past the timeout, the connection is closed.
#[tokio::test]
async fn client_that_never_reads_is_disconnected() {
    let config = SseConfig {
        outbound_queue: 2,
        outbound_send_timeout: Duration::from_millis(200),
        keep_alive: Duration::from_secs(1),
        ..test_config()
    };
    let h = start(config).await;
    let addr: std::net::SocketAddr = h.base["http://".len()..].parse().expect("addr");

    // A raw TCP client with a tiny receive window that reads only the endpoint event.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut tcp = socket.connect(addr).await.expect("connect");
    tcp.write_all(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n")
        .await
        .expect("send GET");
    let mut seen = Vec::new();
    let endpoint = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 1024];
        loop {
            tcp.readable().await.expect("readable");
            match tcp.try_read(&mut buf) {
                Ok(0) => panic!("server closed before the endpoint event"),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("read: {e}"),
            }
            let text = String::from_utf8_lossy(&seen);
            if let Some(start) = text.find("/message?sessionId=")
                && let Some(len) = text[start..].find('\n')
            {
                return text[start..start + len].trim().to_owned();
            }
        }
    })
    .await
    .expect("endpoint event");

    // Handshake (its small replies fit in the socket buffers), then big replies nobody reads.
    assert_eq!(h.post_json(&endpoint, &initialize(1)).await, 202);
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(h.post_json(&endpoint, &initialized).await, 202);
    let mut closed = false;
    for id in 2..2000 {
        let status = h
            .post_json(&endpoint, &call(id, "blob", json!({"kib": 256})))
            .await;
        match status.as_u16() {
            202 | 503 => {}
            404 => {
                closed = true;
                break;
            }
            other => panic!("unexpected status {other}"),
        }
        if h.server.open_connections() == 0 {
            closed = true;
            break;
        }
    }
    assert!(closed, "a client that never reads was never disconnected");
    h.wait_for_connections(0).await;

    // The server is still fine for everybody else.
    let client = h.rmcp_client("", Default::default()).await;
    client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .expect("other clients unaffected");
    drop(tcp);
}

/// A POST whose message cannot be queued to a busy service in bounded time gets 503, and
/// the connection works again once the service catches up.
#[tokio::test]
async fn full_inbound_queue_gives_503() {
    let config = SseConfig {
        inbound_queue: 1,
        inbound_send_timeout: Duration::from_millis(100),
        ..test_config()
    };
    let gate = CancellationToken::new();
    let h = start_with(config, Some(gate.clone()), None).await;
    let mut stream = h.open_raw("", &[]).await;

    // The service takes `initialize` and then blocks in the handler until the gate opens.
    let entered = h.probe.initialize_entered.notified();
    assert_eq!(h.post_json(&stream.endpoint, &initialize(1)).await, 202);
    tokio::time::timeout(DEADLINE, entered)
        .await
        .expect("initialize entered");

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        h.post_json(&stream.endpoint, &initialized).await,
        202,
        "fills the queue"
    );
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let response = h.post(&stream.endpoint, ping.to_string()).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));

    gate.cancel();
    assert_eq!(stream.next_message().await.expect("init reply")["id"], 1);
    let ping = json!({"jsonrpc": "2.0", "id": 3, "method": "ping"});
    let status = tokio::time::timeout(DEADLINE, async {
        loop {
            let status = h.post_json(&stream.endpoint, &ping).await;
            if status != 503 {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("queue drains");
    assert_eq!(status, 202);
    assert_eq!(stream.next_message().await.expect("pong")["id"], 3);
}

/// What Claude Code does after a daemon restart: its EventSource reopens the stream (with
/// the `MCP-Protocol-Version` it negotiated before) and it POSTs `tools/call` to the new
/// endpoint without `initialize`. It is served, bound to the session its URL names.
#[tokio::test]
async fn a_client_resuming_without_initialize_is_served() {
    let h = start(test_config()).await;
    let mut stream = h
        .open_raw("?session=alpha", &[("mcp-protocol-version", "2025-06-18")])
        .await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(h.post_json(&stream.endpoint, &ping).await, 202);
    let pong = stream.next_message().await.expect("ping answered");
    assert_eq!(pong["id"], 1, "{pong}");
    assert!(pong.get("result").is_some(), "{pong}");

    let response = h
        .http
        .post(h.absolute(&stream.endpoint))
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-06-18")
        .body(call(2, "whoami", json!({})).to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 202);
    let reply = stream.next_message().await.expect("tools/call answered");
    assert_eq!(reply["id"], 2, "{reply}");
    assert!(reply.get("error").is_none(), "served, not refused: {reply}");
    let result: CallToolResult =
        serde_json::from_value(reply["result"].clone()).expect("a tool result");
    assert_ne!(result.is_error, Some(true), "{reply}");
    assert_eq!(text_of(&result)["bound"], "alpha");
    // The stream goes on serving.
    assert_eq!(
        h.post_json(&stream.endpoint, &call(3, "whoami", json!({})))
            .await,
        202
    );
    assert_eq!(stream.next_message().await.expect("second call")["id"], 3);
}
