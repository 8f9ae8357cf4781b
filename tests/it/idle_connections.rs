//! Issue 18: a kept-alive HTTP connection that starts no new request within
//! `server.http_idle_seconds` is closed by the daemon (its buffers are ~15 KB); open streams and
//! calls in flight are never idle.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::{call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;

/// One `GET /health` on `stream`, kept alive; returns the status line.
async fn health(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // The answer is small JSON with a Content-Length: read until the body is complete.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(
            n > 0,
            "closed before answering: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .expect("a Content-Length");
            if body.len() >= length {
                return head.lines().next().unwrap().to_string();
            }
        }
    }
}

#[tokio::test]
async fn a_kept_alive_connection_without_requests_is_closed_after_the_idle_time() {
    let mut d = TestDaemon::embedded(|s| s.server.http_idle_seconds = 1).await;
    let addr = d.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    assert!(health(&mut stream).await.contains(" 200"));
    // Requests within the idle time keep the connection.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(health(&mut stream).await.contains(" 200"));
    let quiet = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("the daemon closes the idle connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "nothing but the close: {:?}", &buf[..n]);
    let after = quiet.elapsed();
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}, before the idle time"
    );
    d.stop().await;
}

#[tokio::test]
async fn open_streams_and_waiting_calls_outlive_the_idle_time() {
    let mut d = TestDaemon::embedded(|s| {
        s.server.http_idle_seconds = 1;
        // No keep-alive comments while we watch: the stream itself must not count as idle.
        s.server.sse_keep_alive_seconds = 60;
    })
    .await;
    let sse = connect_sse(&format!("{}?session=stream-keeper", d.sse_url()), &[]).await;
    let http = connect_http(&d.mcp_url(), &[("X-Coord-Session", "long-waiter")]).await;
    let started = Instant::now();
    // A call that waits 3 s in one request (its answer is a stream on the POST).
    let waited = call(&http, "get_session_messages", json!({ "wait_seconds": 3 })).await;
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "the wait ended early: {:?} {}",
        started.elapsed(),
        waited.text
    );
    assert!(!waited.is_error, "{}", waited.text);
    // The SSE stream opened before is still there, 3 s later: its answers arrive on it.
    let who = call(&sse, "whoami", json!({})).await;
    assert_eq!(who.ok()["session"], "stream-keeper", "{}", who.text);
    // And the Streamable-HTTP client reconnects by itself after its idle POST connection
    // was closed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = call(&http, "whoami", json!({})).await;
    assert_eq!(again.ok()["session"], "long-waiter", "{}", again.text);
    d.stop().await;
}
