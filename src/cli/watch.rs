//! `watch`: follows the daemon's `GET /events` (Server-Sent Events, one JSON object per
//! event) and prints one line per event; `--json` prints each event's JSON as it came.
//! A lost stream is reopened (the daemon may restart); only the first connect failing is
//! an error.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use futures::StreamExt;
use serde_json::Value;

use super::output::s;
use super::{CliError, EXIT_OK, Global, Out};

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Stop after N events (default: follow until interrupted).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

pub async fn main(global: &Global, out: &Out, a: WatchArgs) -> Result<u8, CliError> {
    let base = global.base_url();
    let url = format!("{base}/events");
    let http = crate::cli::http_client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build an HTTP client: {e}")))?;
    let mut printed = 0u64;
    let mut first = true;
    loop {
        let response = match super::client::with_bearer(http.get(&url))
            .header("accept", "text/event-stream")
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if first => return Err(super::client::request_failed(&base, &e)),
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if !response.status().is_success() {
            return Err(CliError::Failed(format!(
                "GET {url} answered {}; this daemon may predate live events — update and restart it",
                response.status()
            )));
        }
        first = false;
        let mut parser = SseParser::default();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else { break };
            for event in parser.push(&chunk) {
                print_event(out, &event);
                printed += 1;
                if a.count.is_some_and(|n| printed >= n) {
                    return Ok(EXIT_OK);
                }
            }
        }
        eprintln!("mcp-coord: event stream from {url} ended; reconnecting…");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One Server-Sent Event: its `event:` name and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// An incremental SSE parser (the format is line-based; events end at a blank line).
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(SseEvent {
                        event: std::mem::take(&mut self.event),
                        data: self.data.join("\n"),
                    });
                }
                self.data.clear();
                self.event.clear();
            } else if let Some(v) = line.strip_prefix("data:") {
                self.data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event = v.trim().to_string();
            } // comments (":keep-alive"), id:, retry: are not shown
        }
        events
    }
}

fn print_event(out: &Out, e: &SseEvent) {
    if out.json {
        // The raw JSON as the daemon sent it, one event per line.
        println!("{}", e.data.replace('\n', " "));
        return;
    }
    println!("{}", describe(out, e));
}

/// `14:02:11  lock.acquired  lock=resource:pytest holder=child_web_task_3 token=7`
pub fn describe(out: &Out, e: &SseEvent) -> String {
    let parsed: Option<Value> = serde_json::from_str(&e.data).ok();
    let kind = parsed
        .as_ref()
        .map(|v| {
            // The daemon tags each event with `event`; `type`/`kind` for other producers.
            ["event", "type", "kind"]
                .iter()
                .map(|k| s(v, k))
                .find(|t| !t.is_empty())
                .unwrap_or("")
                .to_string()
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            if e.event.is_empty() {
                "message".into()
            } else {
                e.event.clone()
            }
        });
    let fields = match &parsed {
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "event" | "type"))
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some(format!("{k}={s}")),
                Value::Number(n) => Some(format!("{k}={n}")),
                Value::Bool(b) => Some(format!("{k}={b}")),
                Value::Null => None,
                other => Some(format!("{k}={other}")),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => e.data.clone(),
    };
    format!("{}  {}  {fields}", out.dim(&clock_utc()), out.bold(&kind))
}

/// `HH:MM:SS` (UTC), enough to order what scrolls by.
fn clock_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, (day % 3600) / 60, day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(
            p.push(b": keep-alive\n\nevent: lock\ndata: {\"type\":\"lock.acq")
                .is_empty()
        );
        let got = p.push(b"uired\",\"lock\":\"resource:pytest\"}\r\n\r\ndata: a\ndata: b\n\n");
        assert_eq!(
            got,
            vec![
                SseEvent {
                    event: "lock".into(),
                    data: "{\"type\":\"lock.acquired\",\"lock\":\"resource:pytest\"}".into()
                },
                SseEvent {
                    event: String::new(),
                    data: "a\nb".into()
                }
            ]
        );
        let line = describe(&Out::plain(false), &got[0]);
        assert!(
            line.contains("lock.acquired  lock=resource:pytest"),
            "{line}"
        );
    }
}
