//! `GET /metrics`: valid exposition text, and counters that move with tool calls.

use std::collections::HashSet;

use serde_json::json;

use crate::support::client::{call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

/// Checks the OpenMetrics text grammar strictly (prometheus-parse alone skips lines it does
/// not understand): every sample line is `name{labels} value`, belongs to a family declared
/// by `# TYPE` before it, and the text ends with `# EOF`.
fn assert_valid_exposition(text: &str) {
    let mut families: HashSet<String> = HashSet::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap_or_default();
            let name = parts.next().unwrap_or_default();
            assert!(
                matches!(kind, "HELP" | "TYPE" | "UNIT"),
                "unknown comment: {line}"
            );
            assert!(name.starts_with("mcp_coord_"), "prefix: {line}");
            if kind == "TYPE" {
                let ty = parts.next().unwrap_or_default();
                assert!(
                    matches!(ty, "counter" | "gauge" | "histogram"),
                    "type: {line}"
                );
                families.insert(name.to_string());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample: name value");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value of {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "name: {line}"
        );
        let labels = &series[name.len()..];
        assert!(
            labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
            "labels: {line}"
        );
        let family = ["_total", "_bucket", "_count", "_sum", "_created"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| families.contains(*f)))
            .unwrap_or(name);
        assert!(
            families.contains(family),
            "sample of an undeclared family: {line}"
        );
    }
}

async fn scrape(d: &TestDaemon) -> (String, prometheus_parse::Scrape) {
    let resp = reqwest::get(format!("{}/metrics", d.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = resp.text().await.unwrap();
    assert_valid_exposition(&text);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    (text, scrape)
}

fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(b) => b.last().map(|h| h.count).unwrap_or(0.0),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test]
async fn metrics_parse_and_count_tool_calls_connections_and_store_pings() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;

    let (text, before) = scrape(&d).await;
    // Families with samples from the start; the labelled ones appear with their first
    // sample, and the store-content gauges once their capability sets them.
    for family in [
        "mcp_coord_connections",
        "mcp_coord_lock_grants",
        "mcp_coord_lock_refusals",
        "mcp_coord_lock_takeovers",
        "mcp_coord_messages_sent",
        "mcp_coord_messages_delivered",
        "mcp_coord_reaper_runs",
        "mcp_coord_store_errors",
        "mcp_coord_store_reachable",
        "mcp_coord_store_round_trip_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} is declared"
        );
    }
    let whoami_ok = [("tool", "whoami"), ("outcome", "ok")];
    assert_eq!(
        value(&before, "mcp_coord_tool_calls_total", &whoami_ok),
        None
    );
    // The start-up ping was measured.
    assert_eq!(value(&before, "mcp_coord_store_reachable", &[]), Some(1.0));
    assert!(value(&before, "mcp_coord_store_round_trip_seconds", &[]).unwrap() >= 1.0);

    let http = connect_http(&d.mcp_url(), &[]).await;
    let sse = connect_sse(&d.sse_url(), &[]).await;
    call(&http, "whoami", json!({})).await.ok();
    call(&sse, "whoami", json!({})).await.ok();
    // A refusal (bad argument type) and an unknown tool: the unknown name is not a label.
    let _ = http
        .call_tool(rmcp::model::CallToolRequestParams::new("no_such_tool_xyz"))
        .await;

    let (text, after) = scrape(&d).await;
    assert_eq!(
        value(&after, "mcp_coord_tool_calls_total", &whoami_ok),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &after,
            "mcp_coord_tool_call_duration_seconds",
            &[("tool", "whoami")]
        ),
        Some(2.0),
        "the histogram counts both calls"
    );
    assert!(
        !text.contains("no_such_tool_xyz"),
        "client names never become labels"
    );
    assert_eq!(
        value(
            &after,
            "mcp_coord_tool_calls_total",
            &[("tool", "unknown"), ("outcome", "error")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&after, "mcp_coord_connections", &[("transport", "sse")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &after,
            "mcp_coord_connections",
            &[("transport", "streamable-http")]
        ),
        Some(1.0)
    );
    http.cancel().await.unwrap();
    sse.cancel().await.unwrap();
    d.stop().await;
}

#[tokio::test]
async fn metrics_still_serve_while_redis_is_down_and_count_store_errors() {
    let mut redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let client = connect_http(&d.mcp_url(), &[]).await;
    redis.stop();
    // /health pings the store: it fails, and the failure is counted.
    let health = reqwest::get(format!("{}/health", d.base)).await.unwrap();
    assert_eq!(health.status(), 503);
    let (_, scrape) = scrape(&d).await;
    assert!(value(&scrape, "mcp_coord_store_errors_total", &[]).unwrap() >= 1.0);
    assert_eq!(value(&scrape, "mcp_coord_store_reachable", &[]), Some(0.0));
    client.cancel().await.unwrap();
    d.stop().await;
}
