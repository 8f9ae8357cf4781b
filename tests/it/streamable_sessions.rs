//! Issue 18: `/mcp` sessions live in our own session manager (`src/http/streamable/`), not
//! rmcp's, and keep what clients relied on: the GET stream resumes after `Last-Event-ID`
//! with what it missed, a DELETE ends the session and its streams, an idle session ends after
//! `server.mcp_idle_timeout_seconds`, and sessions that end leave nothing running.
//!
//! Spoken as raw HTTP so the event ids and stream ends are visible.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;

const ACCEPT: &str = "application/json, text/event-stream";

struct RawSession {
    http: reqwest::Client,
    url: String,
    id: String,
}

impl RawSession {
    async fn open(url: &str) -> RawSession {
        let http = reqwest::Client::new();
        let r = http
            .post(url)
            .header("Accept", ACCEPT)
            .json(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"}}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let id = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
        let init = r.text().await.unwrap();
        assert!(init.contains("\"serverInfo\""), "{init}");
        let s = RawSession {
            http,
            url: url.to_string(),
            id,
        };
        let r = s
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(r.status(), 202);
        s
    }

    async fn post(&self, body: Value) -> reqwest::Response {
        self.http
            .post(&self.url)
            .header("Accept", ACCEPT)
            .header("Mcp-Session-Id", &self.id)
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// One JSON-RPC request; its answer, read from the POST's event stream.
    async fn request(&self, id: u64, method: &str, params: Value) -> Value {
        let r = self
            .post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(r.status(), 200, "{method}");
        let mut events = Events::of(r);
        while let Some((_, data)) = events.next().await {
            if let Ok(reply) = serde_json::from_str::<Value>(&data)
                && reply["id"] == id
            {
                return reply;
            }
        }
        panic!("the stream of {method} ended without its answer");
    }

    /// Ends the session, as a client does when it is done.
    async fn delete(&self) -> reqwest::Response {
        self.http
            .delete(&self.url)
            .header("Mcp-Session-Id", &self.id)
            .header("MCP-Protocol-Version", "2025-06-18")
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, last_event_id: Option<&str>) -> reqwest::Response {
        let mut r = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("Mcp-Session-Id", &self.id)
            .header("MCP-Protocol-Version", "2025-06-18");
        if let Some(id) = last_event_id {
            r = r.header("Last-Event-ID", id);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 200);
        r
    }
}

/// The events of one SSE response body: `(id, data)`, skipping keep-alive comments.
struct Events {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl Events {
    fn of(r: reqwest::Response) -> Events {
        Events {
            body: r.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event within 10 s; `None` when the stream ends.
    async fn next(&mut self) -> Option<(Option<String>, String)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut data) = (None, Vec::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_string());
                    }
                }
                if id.is_some() || !data.is_empty() {
                    return Some((id, data.join("\n")));
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("an event or the end of the stream within 10 s")?;
            self.buf
                .push_str(&String::from_utf8_lossy(&chunk.ok()?).replace("\r\n", "\n"));
        }
    }

    /// The next event that announces a change of `uri`, skipping others.
    async fn update_of(&mut self, uri: &str) -> String {
        while let Some((id, data)) = self.next().await {
            if data.contains("notifications/resources/updated") && data.contains(uri) {
                return id.expect("notifications carry an event id");
            }
        }
        panic!("the stream ended before an update of {uri}");
    }
}

fn index_of(event_id: &str) -> u64 {
    event_id.parse().expect("a GET-stream event id is a number")
}

#[tokio::test]
async fn a_get_stream_resumes_after_its_last_event_id_with_what_it_missed() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let watcher = RawSession::open(&d.mcp_url()).await;
    let reply = watcher
        .request(1, "resources/subscribe", json!({"uri": "coord://locks"}))
        .await;
    assert!(reply["result"].is_object(), "{reply}");
    let actor = connect_http(&d.mcp_url(), &[]).await;

    let mut events = Events::of(watcher.get(None).await);
    call(&actor, "acquire_lock", json!({"lock_name": "pytest"})).await;
    let seen = events.update_of("coord://locks").await;
    drop(events);

    // Two changes while no GET stream is open.
    call(&actor, "release_lock", json!({"lock_name": "pytest"})).await;
    call(&actor, "acquire_lock", json!({"lock_name": "pr-create"})).await;

    let mut resumed = Events::of(watcher.get(Some(&seen)).await);
    let mut missed = Vec::new();
    while missed.len() < 2 {
        let id = resumed.update_of("coord://locks").await;
        if index_of(&id) > index_of(&seen) {
            missed.push(index_of(&id));
        }
    }
    assert!(missed[0] < missed[1], "replayed in order: {missed:?}");

    // And the resumed stream is live: the next change arrives on it too.
    call(&actor, "release_lock", json!({"lock_name": "pr-create"})).await;
    let next = resumed.update_of("coord://locks").await;
    assert!(index_of(&next) > missed[1]);
    d.stop().await;
}

#[tokio::test]
async fn a_deleted_session_ends_its_get_stream_and_is_gone() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let s = RawSession::open(&d.mcp_url()).await;
    let mut events = Events::of(s.get(None).await);

    let r = s.delete().await;
    assert!(r.status().is_success(), "{}", r.status());
    while let Some((_, data)) = events.next().await {
        assert!(data.is_empty(), "no message after the DELETE: {data}");
    }
    let r = s
        .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}))
        .await;
    assert_eq!(r.status(), 404);
    d.stop().await;
}

#[tokio::test]
async fn an_idle_session_ends_after_mcp_idle_timeout_seconds_and_a_busy_one_does_not() {
    let mut d = TestDaemon::embedded(|s| s.server.mcp_idle_timeout_seconds = 2).await;
    let idle = RawSession::open(&d.mcp_url()).await;
    let busy = RawSession::open(&d.mcp_url()).await;
    assert_eq!(d.coord().connections().streamable_http(), 2);
    let started = Instant::now();
    let mut n = 10;
    // Bounded: the idle session must be gone within 10 s; the busy one calls every 300 ms.
    // Only the daemon's count is looked at: a request would be activity and keep it alive.
    let gone = loop {
        n += 1;
        let reply = busy.request(n, "tools/list", json!({})).await;
        assert!(reply["result"]["tools"].is_array(), "{reply}");
        if d.coord().connections().streamable_http() == 1 {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "idle session still open"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(gone >= Duration::from_millis(1500), "ended early: {gone:?}");
    let r = idle
        .post(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}))
        .await;
    assert_eq!(r.status(), 404, "the idle session is gone");
    let reply = busy.request(99, "tools/list", json!({})).await;
    assert!(
        reply["result"]["tools"].is_array(),
        "the busy session lives: {reply}"
    );
    d.stop().await;
}

#[tokio::test]
async fn sessions_that_end_leave_no_service_running() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let mut sessions = Vec::new();
    for _ in 0..40 {
        let s = RawSession::open(&d.mcp_url()).await;
        let reply = s
            .request(1, "tools/call", json!({"name": "whoami", "arguments": {}}))
            .await;
        assert!(reply["result"].is_object(), "{reply}");
        sessions.push(s);
    }
    assert_eq!(d.coord().connections().streamable_http(), 40);
    for s in &sessions {
        assert!(s.delete().await.status().is_success());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.coord().connections().streamable_http() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} services still running 10 s after their DELETE",
            d.coord().connections().streamable_http()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.stop().await;
}
