//! A scripted model: a small HTTP server the test owns that speaks the Anthropic Messages
//! API well enough for real Claude Code (`ANTHROPIC_BASE_URL=<this>`), so a test decides what
//! "the model" does and reads exactly what the agent was told.
//!
//! - `POST /v1/messages` answers in the streaming format (`message_start`,
//!   `content_block_start/delta/stop` with `text_delta` or `input_json_delta`,
//!   `message_delta` with the stop reason, `message_stop`), or as one JSON message when the
//!   request does not ask to stream.
//! - `POST /v1/messages/count_tokens` answers a token count.
//! - Requests that offer tools are the conversation: each takes the next scripted [`Step`]
//!   whose `when` matches (a substring of the request's text), or gets a short text. Requests
//!   without tools (titles, summaries, classifiers) always get a short text.
//! - Every request is recorded; [`ScriptedModel::wait_for`] waits (bounded) for one that
//!   matches, so a test can assert what a hook added, what a tool returned, what woke it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// What the model answers to one conversation request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A text answer; the turn ends (`end_turn`).
    Text(String),
    /// A call of one tool (e.g. `mcp__coordination__acquire_lock`); `stop_reason: tool_use`.
    Tool { name: String, input: Value },
}

/// One scripted answer, used by the first conversation request whose text contains `when`
/// (any request when `None`). Steps are taken in order: a request that does not match the
/// head step gets the default text and leaves the script as it is.
#[derive(Debug, Clone)]
pub struct Step {
    pub when: Option<String>,
    pub reply: Reply,
}

/// One request Claude Code sent, as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub body: Value,
    /// Index of the scripted step it consumed, if any.
    pub step: Option<usize>,
}

impl Recorded {
    /// A conversation request (it offers tools).
    pub fn is_conversation(&self) -> bool {
        self.path.starts_with("/v1/messages")
            && !self.path.contains("count_tokens")
            && self
                .body
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
    }

    /// Every text of the request's messages (and tool results), joined: what the model read.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(messages) = self.body.get("messages").and_then(Value::as_array) {
            for m in messages {
                collect_text(m.get("content").unwrap_or(&Value::Null), &mut out);
            }
        }
        out
    }

    /// The text of the last message only (what is new in this request).
    pub fn last_text(&self) -> String {
        let mut out = String::new();
        if let Some(last) = self
            .body
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.iter().rev().find(|m| m["role"] != "system"))
        {
            collect_text(last.get("content").unwrap_or(&Value::Null), &mut out);
        }
        out
    }

    /// The contents of every `tool_result` block, in order.
    pub fn tool_results(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(messages) = self.body.get("messages").and_then(Value::as_array) {
            for m in messages {
                if let Some(blocks) = m.get("content").and_then(Value::as_array) {
                    for b in blocks.iter().filter(|b| b["type"] == "tool_result") {
                        let mut s = String::new();
                        collect_text(b.get("content").unwrap_or(&Value::Null), &mut s);
                        out.push(s);
                    }
                }
            }
        }
        out
    }
}

fn collect_text(content: &Value, out: &mut String) {
    match content {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(blocks) => {
            for b in blocks {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    out.push_str(t);
                    out.push('\n');
                }
                if let Some(c) = b.get("content") {
                    collect_text(c, out);
                }
            }
        }
        _ => {}
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<(usize, Step)>,
    /// Per-agent scripts: used by requests whose text contains the marker (e.g. the
    /// SessionStart context's "you are session `NAME`"), before the shared script.
    lanes: Vec<(String, VecDeque<(usize, Step)>)>,
    next_step: usize,
    requests: Vec<Recorded>,
    tool_ids: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    arrived: Notify,
}

/// The server; stops when dropped.
pub struct ScriptedModel {
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The text answered when nothing is scripted (or to requests without tools).
pub const DEFAULT_TEXT: &str = "ok (scripted model)";

impl ScriptedModel {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .fallback(|uri: Uri| async move {
                (
                    StatusCode::NOT_FOUND,
                    format!("scripted model: no route {uri}"),
                )
            })
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the scripted model");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            url,
            shared,
            stop: Some(stop),
        }
    }

    /// Adds a step to the script.
    pub fn push(&self, when: Option<&str>, reply: Reply) {
        let mut g = self.shared.inner.lock();
        let n = g.next_step;
        g.next_step += 1;
        g.script.push_back((
            n,
            Step {
                when: when.map(str::to_string),
                reply,
            },
        ));
    }

    /// Adds a step to the script of the agent whose requests contain `marker` (several
    /// agents can share one model, each with its own script).
    pub fn push_for(&self, marker: &str, when: Option<&str>, reply: Reply) {
        let mut g = self.shared.inner.lock();
        let n = g.next_step;
        g.next_step += 1;
        let step = Step {
            when: when.map(str::to_string),
            reply,
        };
        match g.lanes.iter_mut().find(|(m, _)| m == marker) {
            Some((_, lane)) => lane.push_back((n, step)),
            None => g
                .lanes
                .push((marker.to_string(), VecDeque::from([(n, step)]))),
        }
    }

    /// The marker of session `name`'s requests: its SessionStart context.
    pub fn session_marker(name: &str) -> String {
        format!("you are session `{name}`")
    }

    /// Script: on the next conversation request (containing `when`), call `tool` with `input`.
    pub fn then_tool(&self, when: Option<&str>, tool: &str, input: Value) {
        self.push(
            when,
            Reply::Tool {
                name: tool.to_string(),
                input,
            },
        );
    }

    /// Script: on the next conversation request (containing `when`), answer `text`.
    pub fn then_text(&self, when: Option<&str>, text: &str) {
        self.push(when, Reply::Text(text.to_string()));
    }

    /// Steps not used yet.
    pub fn pending_steps(&self) -> usize {
        self.shared.inner.lock().script.len()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.inner.lock().requests.clone()
    }

    /// Conversation requests so far.
    pub fn conversation(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_conversation)
            .collect()
    }

    /// Waits up to `timeout` for a conversation request (among those from index `from` on)
    /// that satisfies `pred`; returns it with its index.
    pub async fn wait_for(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<(usize, Recorded)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(found) = self
                .conversation()
                .into_iter()
                .enumerate()
                .skip(from)
                .find(|(_, r)| pred(r))
            {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    /// Waits for a conversation request whose text contains `needle`.
    pub async fn wait_for_text(
        &self,
        from: usize,
        needle: &str,
        timeout: Duration,
    ) -> Option<(usize, Recorded)> {
        self.wait_for(from, timeout, |r| r.text().contains(needle))
            .await
    }
}

impl Drop for ScriptedModel {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Records the request and takes the scripted step it matches (if any): one short lock.
fn take_step(shared: &Shared, mut rec: Recorded) -> ((Reply, Option<usize>), String) {
    let (conversation, text) = (rec.is_conversation(), rec.text());
    let mut g = shared.inner.lock();
    let mut reply = (Reply::Text(DEFAULT_TEXT.to_string()), None);
    let head_matches = |q: &VecDeque<(usize, Step)>| {
        q.front()
            .is_some_and(|(_, s)| s.when.as_ref().is_none_or(|w| text.contains(w.as_str())))
    };
    let lane = g
        .lanes
        .iter()
        .position(|(marker, _)| text.contains(marker.as_str()));
    let taken = match lane {
        // An agent with its own script never takes the shared one.
        Some(i) if conversation && head_matches(&g.lanes[i].1) => g.lanes[i].1.pop_front(),
        Some(_) => None,
        None if conversation && head_matches(&g.script) => g.script.pop_front(),
        None => None,
    };
    if let Some((n, step)) = taken {
        reply = (step.reply, Some(n));
    }
    g.tool_ids += 1;
    let id = format!("toolu_scripted_{:04}", g.tool_ids);
    rec.step = reply.1;
    g.requests.push(rec);
    drop(g);
    (reply, id)
}

async fn count_tokens() -> impl IntoResponse {
    axum::Json(json!({ "input_tokens": 42 }))
}

async fn messages(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("scripted")
        .to_string();
    let rec = Recorded {
        path: uri.to_string(),
        body,
        step: None,
    };
    let ((reply, _), tool_id) = take_step(&shared, rec);
    shared.arrived.notify_waiters();
    if stream {
        sse_answer(&model, &reply, &tool_id)
    } else {
        json_answer(&model, &reply, &tool_id)
    }
}

fn usage() -> Value {
    json!({ "input_tokens": 10, "output_tokens": 5 })
}

fn message_id(tool_id: &str) -> String {
    format!("msg_{}", tool_id.trim_start_matches("toolu_"))
}

fn json_answer(model: &str, reply: &Reply, tool_id: &str) -> Response {
    let (content, stop) = match reply {
        Reply::Text(t) => (json!([{ "type": "text", "text": t }]), "end_turn"),
        Reply::Tool { name, input } => (
            json!([{ "type": "tool_use", "id": tool_id, "name": name, "input": input }]),
            "tool_use",
        ),
    };
    axum::Json(json!({
        "id": message_id(tool_id), "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage(),
    }))
    .into_response()
}

fn sse_answer(model: &str, reply: &Reply, tool_id: &str) -> Response {
    let (start, delta, stop) = match reply {
        Reply::Text(t) => (
            json!({ "type": "text", "text": "" }),
            json!({ "type": "text_delta", "text": t }),
            "end_turn",
        ),
        Reply::Tool { name, input } => (
            json!({ "type": "tool_use", "id": tool_id, "name": name, "input": {} }),
            json!({ "type": "input_json_delta", "partial_json": input.to_string() }),
            "tool_use",
        ),
    };
    let events = [
        (
            "message_start",
            json!({ "type": "message_start", "message": {
                "id": message_id(tool_id), "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(),
            }}),
        ),
        (
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0, "content_block": start }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0, "delta": delta }),
        ),
        (
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        (
            "message_delta",
            json!({ "type": "message_delta", "delta": { "stop_reason": stop, "stop_sequence": null },
                    "usage": { "output_tokens": 5 } }),
        ),
        ("message_stop", json!({ "type": "message_stop" })),
    ];
    let mut body = String::new();
    for (event, data) in events {
        body.push_str(&format!("event: {event}\ndata: {data}\n\n"));
    }
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}
