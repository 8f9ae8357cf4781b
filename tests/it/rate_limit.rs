//! Issue 16, rate limits: a flooding client (a bounded loop, far over the limit) is refused —
//! HTTP 429 with `Retry-After` on Streamable HTTP, a `rate_limited` tool error naming the
//! limit on legacy SSE — while another client's calls keep succeeding (their latencies are
//! printed, not asserted). The refusal is audited.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::client::{call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;

/// A small limit so a bounded loop exceeds it quickly.
fn tight(s: &mut mcp_coord::config::Settings) {
    s.limits.calls_per_second = 20;
    s.limits.calls_burst = 20;
}

/// Opens a raw Streamable-HTTP session; returns its id.
async fn raw_session(http: &reqwest::Client, url: &str) -> String {
    let init = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "flood", "version": "0"}}}),
        )
        .send()
        .await
        .unwrap();
    let id = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = init.text().await;
    http.post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &id)
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    id
}

async fn steady_client_keeps_working(
    d: &TestDaemon,
    during: impl std::future::Future<Output = ()>,
) {
    let other = connect_http(&d.mcp_url(), &[("X-Coord-Session", "steady")]).await;
    let steady = async {
        let mut latencies = Vec::new();
        for i in 0..15 {
            let t = Instant::now();
            let r = call(
                &other,
                "acquire_lock",
                json!({ "lock_name": format!("steady-{i}") }),
            )
            .await;
            latencies.push(t.elapsed());
            r.ok();
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        latencies
    };
    let (latencies, ()) = tokio::join!(steady, during);
    println!("steady client latencies during the flood: {latencies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_over_streamable_http_gets_429_and_others_keep_working() {
    let mut d = TestDaemon::embedded(tight).await;
    let http = reqwest::Client::new();
    let url = d.mcp_url();
    let flood = async {
        let id = raw_session(&http, &url).await;
        let (mut ok, mut limited, mut retry_after) = (0, 0, None);
        for i in 0..300 {
            let r = http
                .post(&url)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-session-id", &id)
                .header("x-coord-session", "flood")
                .json(
                    &json!({"jsonrpc": "2.0", "id": i + 2, "method": "tools/call",
                    "params": {"name": "acquire_lock", "arguments": {"lock_name": "pytest"}}}),
                )
                .send()
                .await
                .unwrap();
            if r.status() == 429 {
                limited += 1;
                retry_after = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"], "rate_limited");
                let m = body["message"].as_str().unwrap();
                assert!(
                    m.contains("20 per second") && m.contains("limits.calls_per_second"),
                    "{m}"
                );
            } else {
                assert!(r.status().is_success(), "{}", r.status());
                let _ = r.text().await;
                ok += 1;
            }
        }
        println!(
            "flood over /mcp: {ok} answered, {limited} refused with 429 (Retry-After {retry_after:?})"
        );
        assert!(limited > 0, "300 calls at once exceed 20/s");
        assert!(ok >= 20, "the burst is served");
        assert!(retry_after.is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    };
    steady_client_keeps_working(&d, flood).await;

    // The refusal is in the audit log (once per key per 10 s, not once per request).
    let reader = connect_http(&d.mcp_url(), &[("X-Coord-Session", "reader")]).await;
    let entries = call(&reader, "audit_log", json!({ "kind": "rate_limited" })).await;
    let entries = entries.ok()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["session"], "flood");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_over_legacy_sse_gets_a_tool_error_and_others_keep_working() {
    let mut d = TestDaemon::embedded(tight).await;
    let flooder = connect_sse(&format!("{}?session=flood", d.sse_url()), &[]).await;
    let flood = async {
        let (mut ok, mut limited) = (0, 0);
        let mut message = String::new();
        for _ in 0..200 {
            let r = call(&flooder, "check_lock", json!({ "lock_name": "pytest" })).await;
            if r.is_error {
                assert_eq!(r.json["error"], "rate_limited", "{}", r.text);
                assert!(r.json["retry_after_ms"].as_u64().is_some(), "{}", r.text);
                message = r.text.clone();
                limited += 1;
            } else {
                ok += 1;
            }
        }
        println!("flood over /sse: {ok} answered, {limited} refused: {message}");
        assert!(limited > 0);
        assert!(
            message.contains("20 per second") && message.contains("retry in"),
            "{message}"
        );
    };
    steady_client_keeps_working(&d, flood).await;
    d.stop().await;
}

/// Tokenless requests that belong to no connection share one bucket per address — on
/// loopback, every local client — except the hooks, which have their own: a loop in one
/// agent's shell opening connections does not get every agent's hooks refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_opening_connections_does_not_starve_the_hooks() {
    let mut d = TestDaemon::embedded(|s| {
        s.limits.requests_per_second = 5;
        s.limits.requests_burst = 5;
    })
    .await;
    let http = reqwest::Client::new();
    let mut limited = 0;
    for i in 0..40 {
        let r = http
            .post(d.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .json(
                &json!({"jsonrpc": "2.0", "id": i, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "loop", "version": "0"}}}),
            )
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "40 opens at once exceed 5/s");
    let hook = http
        .post(format!("{}/hooks/claude", d.base))
        .json(&json!({
            "hook_event_name": "SessionStart", "session_id": "5b0e4c8e-9d55-4f7e-a1d3-0c1d2e3f4a5c",
            "cwd": "/tmp", "source": "startup",
        }))
        .send()
        .await
        .unwrap();
    let status = hook.status();
    let body = hook.text().await.unwrap_or_default();
    assert_ne!(status, 429, "the hook has its own bucket: {body}");
    assert!(status.is_success(), "{status} {body}");
    d.stop().await;
}
