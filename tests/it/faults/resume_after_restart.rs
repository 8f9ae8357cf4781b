//! Clients that outlive a daemon restart, doing what Claude Code 2.1.330 does:
//! - legacy SSE: its EventSource reopens `GET /sse` (same URL and headers, plus the
//!   `MCP-Protocol-Version` it negotiated) and it POSTs `tools/call` to the new endpoint
//!   without a new `initialize`;
//! - Streamable HTTP: after the 404 it initializes a new MCP session (rmcp's client too).
//!
//! Either way the calls work and act as the session the client had: the one its URL names,
//! or the one its hooks bound it to (the Claude id → session binding is in the store).
//! Redis: the daemon is SIGKILLed. Embedded store: an orderly restart (a crash loses what
//! the last snapshot did not hold, bindings included).

use std::time::Duration;

use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};

use super::try_call;
use crate::support::client::{connect_http, connect_sse, test_credential};
use crate::support::process::DaemonProcess;
use crate::support::redis::RedisServer;
use crate::support::sse_client::SseClientTransport;

const CALL_BOUND: Duration = Duration::from_secs(15);

/// A daemon on Redis or on the embedded store, and how it restarts.
struct Subject {
    _redis: Option<RedisServer>,
    daemon: DaemonProcess,
}

impl Subject {
    fn start(on_redis: bool) -> Self {
        let redis = on_redis.then(RedisServer::start);
        let daemon = DaemonProcess::start(redis.as_ref().map(|r| r.url()).as_deref(), &[]);
        Self {
            _redis: redis,
            daemon,
        }
    }

    fn restart(&mut self) {
        if self._redis.is_some() {
            self.daemon.restart();
        } else {
            self.daemon.restart_clean();
        }
    }
}

/// One raw legacy-SSE connection: JSON-RPC messages in, replies out, no handshake of its own.
pub(super) struct RawSse {
    transport: SseClientTransport,
    next_id: u64,
}

impl RawSse {
    pub(super) async fn open(url: &str, headers: &[(&str, &str)]) -> Self {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        let transport = SseClientTransport::connect_with_headers(url, map)
            .await
            .expect("GET /sse opens");
        Self {
            transport,
            next_id: 1,
        }
    }

    pub(super) async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message: ClientJsonRpcMessage = serde_json::from_value(
            json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }),
        )
        .expect("a client message");
        self.transport.send(message).await.expect("POST accepted");
        let reply = tokio::time::timeout(CALL_BOUND, async {
            loop {
                let Some(m) = self.transport.receive().await else {
                    panic!("the stream ended before the reply to {method}");
                };
                if let ServerJsonRpcMessage::Response(_) | ServerJsonRpcMessage::Error(_) = &m {
                    let v = serde_json::to_value(&m).unwrap();
                    if v["id"] == id {
                        return v;
                    }
                }
            }
        })
        .await;
        reply.unwrap_or_else(|_| panic!("no reply to {method} within {CALL_BOUND:?}"))
    }

    async fn notify(&mut self, method: &str) {
        let message: ClientJsonRpcMessage =
            serde_json::from_value(json!({ "jsonrpc": "2.0", "method": method })).unwrap();
        self.transport.send(message).await.expect("POST accepted");
    }

    pub(super) async fn initialize(&mut self) {
        let reply = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2024-11-05",
                    "capabilities": {},
                    "clientInfo": { "name": "claude-code-like", "version": "2.1.330" }
                }),
            )
            .await;
        assert!(reply.get("result").is_some(), "initialize: {reply}");
        self.notify("notifications/initialized").await;
    }

    /// A tool call that must succeed; returns its structured result.
    async fn tool(&mut self, name: &str, arguments: Value) -> Value {
        let reply = self
            .request(
                "tools/call",
                json!({ "name": name, "arguments": arguments }),
            )
            .await;
        let result = reply
            .get("result")
            .unwrap_or_else(|| panic!("{name}: a JSON-RPC error instead of a result: {reply}"));
        assert_ne!(result["isError"], true, "{name} refused: {reply}");
        result["structuredContent"].clone()
    }
}

/// The SessionStart hook of Claude session `claude_id`, as `mcp-coord hook` POSTs it.
async fn session_start_hook(base: &str, claude_id: &str, name: &str) {
    let (status, answer) = crate::support::client::post_hook(
        base,
        &json!({
            "hook_event_name": "SessionStart",
            "session_id": claude_id,
            "cwd": "/tmp",
            "source": "startup",
            "coord": { "session": name }
        }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

async fn sse_named_by_url_resumes_without_initialize(on_redis: bool) {
    let mut s = Subject::start(on_redis);
    let url = format!("{}?session=resumer", s.daemon.sse_url());
    // Named by URL, proven by its credential (`X-Coord-Credential: ${COORD_CREDENTIAL:-}`):
    // after the restart the session is still active, and only the credential says this
    // reconnecting stream is it (issue 16).
    let credential = test_credential(&s.daemon.base(), "resumer", None).await;
    let mut before = RawSse::open(&url, &[("X-Coord-Credential", credential.as_str())]).await;
    before.initialize().await;
    assert_eq!(before.tool("whoami", json!({})).await["session"], "resumer");
    let held = before
        .tool(
            "acquire_lock",
            json!({ "lock_name": "resume-held", "timeout_seconds": 120 }),
        )
        .await;

    s.restart();
    drop(before);
    // Claude's EventSource reconnects with what it sent before, plus the negotiated version.
    let mut after = RawSse::open(
        &url,
        &[
            ("MCP-Protocol-Version", "2024-11-05"),
            ("X-Coord-Credential", credential.as_str()),
        ],
    )
    .await;
    let me = after.tool("whoami", json!({})).await;
    assert_eq!(
        me["session"], "resumer",
        "the URL's session, without initialize"
    );
    // Still the holder of what it held before the restart.
    let again = after
        .tool(
            "acquire_lock",
            json!({ "lock_name": "resume-held", "timeout_seconds": 120 }),
        )
        .await;
    assert_eq!(again["token"], held["token"], "re-entrant: the same holder");
    after
        .tool("release_lock", json!({ "lock_name": "resume-held" }))
        .await;
}

async fn sse_bound_by_hook_comes_back_as_the_same_session(on_redis: bool) {
    let mut s = Subject::start(on_redis);
    let claude_id = "6f0e3c52-8d1b-4a3e-9f7c-2b5d4e6a8c01";
    session_start_hook(&s.daemon.base(), claude_id, "hooked-sse").await;
    let mut before = RawSse::open(&s.daemon.sse_url(), &[]).await;
    before.initialize().await;
    let bound = before
        .tool("bind_session", json!({ "session_id": claude_id }))
        .await;
    assert_eq!(bound["session"], "hooked-sse");

    s.restart();
    drop(before);
    let mut after = RawSse::open(
        &s.daemon.sse_url(),
        &[("MCP-Protocol-Version", "2024-11-05")],
    )
    .await;
    // The next prompt's UserPromptSubmit hook calls bind_session on the resumed stream.
    let bound = after
        .tool("bind_session", json!({ "session_id": claude_id }))
        .await;
    assert_eq!(bound["session"], "hooked-sse", "{bound}");
    assert_eq!(bound["source"], "hook", "{bound}");
    assert_eq!(
        after.tool("whoami", json!({})).await["session"],
        "hooked-sse"
    );
}

async fn http_reinitialized_client_is_bound_back_by_its_hook(on_redis: bool) {
    let mut s = Subject::start(on_redis);
    let claude_id = "0c4b2a18-7e6d-4f5c-8b9a-3d2e1f0a9b87";
    session_start_hook(&s.daemon.base(), claude_id, "hooked-http").await;
    let client = connect_http(&s.daemon.mcp_url(), &[]).await;
    let bound = try_call(
        &client,
        "bind_session",
        json!({ "session_id": claude_id }),
        CALL_BOUND,
    )
    .await
    .unwrap();
    assert_eq!(bound.ok()["session"], "hooked-http");

    s.restart();
    // The old MCP session is gone (404); the client initializes a new one by itself (rmcp's
    // client does, as Claude Code does), which starts out unbound ...
    let fresh = try_call(&client, "whoami", json!({}), CALL_BOUND)
        .await
        .unwrap();
    assert_eq!(fresh.ok()["bound"], false, "{:?}", fresh.json);
    // ... until the next prompt's hook binds it: to the same session as before.
    let bound = try_call(
        &client,
        "bind_session",
        json!({ "session_id": claude_id }),
        CALL_BOUND,
    )
    .await
    .unwrap();
    assert_eq!(bound.ok()["session"], "hooked-http", "{:?}", bound.json);
    assert_eq!(bound.ok()["source"], "hook");
    let me = try_call(&client, "whoami", json!({}), CALL_BOUND)
        .await
        .unwrap();
    assert_eq!(me.ok()["session"], "hooked-http");
}

/// A client that initializes normally after a restart still gets the ordinary handshake.
async fn a_fresh_client_after_a_restart_still_initializes(on_redis: bool) {
    let mut s = Subject::start(on_redis);
    s.restart();
    let client = connect_sse(&s.daemon.sse_url(), &[]).await;
    let me = try_call(&client, "whoami", json!({}), CALL_BOUND)
        .await
        .unwrap();
    assert_eq!(me.ok()["transport"], "sse");
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(true).await;
                }
            )*
        }
        mod on_embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(false).await;
                }
            )*
        }
    };
}

on_both_stores!(
    sse_named_by_url_resumes_without_initialize,
    sse_bound_by_hook_comes_back_as_the_same_session,
    http_reinitialized_client_is_bound_back_by_its_hook,
    a_fresh_client_after_a_restart_still_initializes,
);
