//! A minimal legacy-SSE MCP round trip for `doctor`: GET `/sse`, read the `endpoint` event,
//! POST `initialize`, `notifications/initialized` and `tools/list`, and read the replies from
//! the stream. Not a general client (the tests have one): just enough to prove the
//! transport works end to end, the way `claude mcp list` checks a server.

use std::time::Duration;

use futures::StreamExt;
use reqwest::Url;
use serde_json::{Value, json};

/// What one round trip showed.
#[derive(Debug)]
pub struct ProbeResult {
    pub server: String,
    pub tools: usize,
}

/// One parsed server-sent event.
struct Event {
    event: String,
    data: String,
}

/// Splits a `text/event-stream` body into events as bytes arrive.
#[derive(Default)]
struct Parser {
    buf: String,
}

impl Parser {
    fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buf
            .push_str(&String::from_utf8_lossy(chunk).replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            let mut event = "message".to_string();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
            if !data.is_empty() {
                events.push(Event {
                    event,
                    data: data.join("\n"),
                });
            }
        }
        events
    }
}

/// Runs the round trip against `sse_url` (e.g. `http://127.0.0.1:8082/sse`) within `limit`.
pub async fn probe(sse_url: &str, limit: Duration) -> Result<ProbeResult, String> {
    match tokio::time::timeout(limit, probe_inner(sse_url)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete answer within {} s", limit.as_secs())),
    }
}

async fn probe_inner(sse_url: &str) -> Result<ProbeResult, String> {
    let url = Url::parse(sse_url).map_err(|e| format!("bad URL {sse_url}: {e}"))?;
    let http = super::http_client::client()?;
    let resp = super::client::with_bearer(http.get(url.clone()))
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET {url} answered {}", resp.status()));
    }
    let mut body = resp.bytes_stream();
    let mut parser = Parser::default();
    let mut pending: Vec<Event> = Vec::new();

    // Next event of kind `kind` from the stream.
    macro_rules! next_event {
        ($kind:expr) => {{
            loop {
                if let Some(i) = pending.iter().position(|e| e.event == $kind) {
                    break pending.remove(i);
                }
                match body.next().await {
                    Some(Ok(chunk)) => pending.extend(parser.feed(&chunk)),
                    Some(Err(e)) => return Err(format!("reading the stream: {e}")),
                    None => return Err("the server closed the stream".to_string()),
                }
            }
        }};
    }

    let endpoint = next_event!("endpoint");
    let post_url = url
        .join(endpoint.data.trim())
        .map_err(|e| format!("bad endpoint {:?}: {e}", endpoint.data))?;
    let post = |msg: Value| {
        let http = http.clone();
        let post_url = post_url.clone();
        async move {
            let r = super::client::with_bearer(http.post(post_url.clone()))
                .json(&msg)
                .send()
                .await
                .map_err(|e| format!("POST {post_url}: {e}"))?;
            if r.status().is_success() {
                Ok(())
            } else {
                Err(format!("POST {post_url} answered {}", r.status()))
            }
        }
    };

    post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2024-11-05",
            "capabilities": {},
            "clientInfo": {"name": "mcp-coord-doctor", "version": env!("CARGO_PKG_VERSION")}
        }}),
    )
    .await?;
    let init = loop {
        if let Some(r) = reply(next_event!("message"), 1)? {
            break r;
        }
    };
    let server = init["serverInfo"]["name"]
        .as_str()
        .unwrap_or("(unnamed)")
        .to_string();
    post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
    post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})).await?;
    let list = loop {
        if let Some(r) = reply(next_event!("message"), 2)? {
            break r;
        }
    };
    let tools = list["tools"].as_array().map(Vec::len).unwrap_or(0);
    Ok(ProbeResult { server, tools })
}

/// The `result` of the JSON-RPC reply with `id`, its error, or `None` for any other
/// message (a notification).
fn reply(event: Event, id: u64) -> Result<Option<Value>, String> {
    let msg: Value =
        serde_json::from_str(&event.data).map_err(|e| format!("malformed reply: {e}"))?;
    if msg["id"] != json!(id) {
        return Ok(None);
    }
    if let Some(err) = msg.get("error") {
        return Err(format!("the server answered with an error: {err}"));
    }
    Ok(Some(msg["result"].clone()))
}
