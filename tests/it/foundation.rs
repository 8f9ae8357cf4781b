//! Issue 2: transports, identity, health, guards, Redis outage and recovery.

use std::time::Duration;

use serde_json::json;

use crate::support::client::{call, connect_http, connect_sse, try_connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

#[tokio::test]
async fn streamable_http_initialize_list_and_call() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let client = connect_http(&d.mcp_url(), &[]).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "mcp-coord");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    assert!(names.contains(&"whoami".to_string()), "{names:?}");
    assert!(names.contains(&"health_check".to_string()), "{names:?}");
    let health = call(&client, "health_check", json!({})).await;
    let h = health.ok();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["store"]["kind"], "redis");
    assert_eq!(h["store"]["reachable"], true);
    assert_eq!(h["connections"]["streamable_http"], 1);
    client.cancel().await.unwrap();
    d.stop().await;
}

#[tokio::test]
async fn two_connections_get_different_identities_and_header_binds() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = connect_http(&d.mcp_url(), &[]).await;
    let b = connect_http(&d.mcp_url(), &[]).await;
    let wa = call(&a, "whoami", json!({})).await.ok().clone();
    let wb = call(&b, "whoami", json!({})).await.ok().clone();
    assert_ne!(wa["session"], wb["session"]);
    assert_ne!(wa["connection_id"], wb["connection_id"]);
    assert_eq!(wa["bound"], false);
    assert_eq!(wa["transport"], "streamable-http");

    let named = connect_http(&d.mcp_url(), &[("X-Coord-Session", "worker-7")]).await;
    let w = call(&named, "whoami", json!({})).await.ok().clone();
    assert_eq!(w["session"], "worker-7");
    assert_eq!(w["bound"], true);

    let by_query = connect_http(&format!("{}?session=worker-8", d.mcp_url()), &[]).await;
    assert_eq!(
        call(&by_query, "whoami", json!({})).await.ok()["session"],
        "worker-8"
    );
    d.stop().await;
}

#[tokio::test]
async fn bad_session_names_and_foreign_origins_are_refused() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    assert!(
        try_connect_http(&d.mcp_url(), &[("X-Coord-Session", "bad name*")])
            .await
            .is_err()
    );

    let http = reqwest::Client::new();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}});
    let r = http
        .post(d.mcp_url())
        .header("Origin", "https://evil.example")
        .header("Accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("not allowed"));

    // The dashboard's routes alike: a foreign page can neither log in nor act as an admin
    // (with the admin's own bearer even), nor read the page's data or the event stream.
    let admin = d.admin_bearer();
    for (path, body) in [
        ("/login", json!({ "token": "mcpc_x" })),
        ("/logout", json!({})),
        ("/dashboard/admin/release-lock", json!({ "lock": "pytest" })),
        ("/dashboard/admin/end-session", json!({ "session": "x" })),
        (
            "/dashboard/admin/send-message",
            json!({ "to": "x", "body": "hi" }),
        ),
    ] {
        let r = http
            .post(format!("{}{path}", d.base))
            .header("Origin", "https://evil.example")
            .header("Authorization", &admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    for path in [
        "/dashboard/state",
        "/dashboard/tasks?project=p",
        "/events",
        "/",
    ] {
        let r = http
            .get(format!("{}{path}", d.base))
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }

    let r = http
        .post(d.mcp_url())
        .header("Origin", "http://localhost:5173")
        .header("Accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = http
        .get(format!("{}/health", d.base))
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "DNS-rebinding Host is refused");
    d.stop().await;
}

/// Reads the one JSON-RPC reply from a Streamable-HTTP response (JSON or SSE framed).
fn jsonrpc_reply(body: &str) -> serde_json::Value {
    let payload = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:").map(str::trim))
        .find(|d| !d.is_empty());
    serde_json::from_str(payload.unwrap_or(body))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn server_discover_and_unknown_methods_get_an_error_never_silence() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let http = reqwest::Client::new();
    let accept = "application/json, text/event-stream";

    // A new client's probe before initialize: rmcp answers before our handler, since the
    // sessionless revision is not offered; the error lists the versions that are.
    let r = http
        .post(d.mcp_url())
        .header("Accept", accept)
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "server/discover")
        .json(
            &json!({"jsonrpc":"2.0","id":7,"method":"server/discover","params":{"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }}}),
        )
        .send()
        .await
        .unwrap();
    let reply = jsonrpc_reply(&r.text().await.unwrap());
    assert_eq!(reply["id"], 7);
    assert!(reply["error"]["code"].is_i64(), "{reply}");
    assert!(reply.to_string().contains("2025-11-25"), "{reply}");

    // Inside an initialized session, an unknown method is "method not found".
    let r = http
        .post(d.mcp_url())
        .header("Accept", accept)
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}))
        .send()
        .await
        .unwrap();
    let sid = r
        .headers()
        .get("mcp-session-id")
        .expect("session id")
        .to_str()
        .unwrap()
        .to_string();
    let _ = r.text().await.unwrap();
    let r = http
        .post(d.mcp_url())
        .header("Accept", accept)
        .header("Mcp-Session-Id", &sid)
        .json(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    for method in ["no/such/method", "server/discover"] {
        let r = http
            .post(d.mcp_url())
            .header("Accept", accept)
            .header("Mcp-Session-Id", &sid)
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&json!({"jsonrpc":"2.0","id":8,"method":method,"params":{}}))
            .send()
            .await
            .unwrap();
        let reply = jsonrpc_reply(&r.text().await.unwrap());
        assert_eq!(reply["id"], 8, "{method}: {reply}");
        let code = reply["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{method}: {reply}"));
        if method == "no/such/method" {
            assert_eq!(code, -32601, "{reply}");
        }
    }
    d.stop().await;
}

#[tokio::test]
async fn oversize_body_gets_413() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        s.server.max_body_bytes = 4096;
        s.messages.max_bytes = 1024;
    })
    .await;
    let big = "x".repeat(10_000);
    let r = reqwest::Client::new()
        .post(d.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{big}"}}}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    d.stop().await;
}

#[tokio::test]
async fn health_endpoint_reports_and_degrades_when_redis_stops_then_recovers() {
    let mut redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let http = reqwest::Client::new();
    let url = format!("{}/health", d.base);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["store"]["round_trip_ms"].as_f64().is_some());

    let client = connect_http(&d.mcp_url(), &[]).await;
    redis.stop();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["store"]["reachable"], false);
    let started = std::time::Instant::now();
    let h = call(&client, "health_check", json!({})).await;
    assert_eq!(h.json["status"], "degraded");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answers promptly, not hung"
    );

    redis.restart();
    let mut recovered = false;
    for _ in 0..50 {
        let body: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        if body["status"] == "ok" {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the daemon reconnects by itself");
    d.stop().await;
}

#[tokio::test]
async fn embedded_store_is_the_default() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let client = connect_http(&d.mcp_url(), &[]).await;
    let h = call(&client, "health_check", json!({})).await;
    assert_eq!(h.ok()["store"]["kind"], "embedded");
    d.stop().await;
}

#[tokio::test]
async fn shutdown_closes_open_connections_promptly() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let _client = connect_http(&d.mcp_url(), &[]).await;
    let started = std::time::Instant::now();
    d.stop().await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn legacy_sse_initialize_list_call_and_identity() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = connect_sse(&d.sse_url(), &[]).await;
    let b = connect_sse(&d.sse_url(), &[]).await;
    let tools = a.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "whoami"));
    let wa = call(&a, "whoami", json!({})).await.ok().clone();
    let wb = call(&b, "whoami", json!({})).await.ok().clone();
    assert_eq!(wa["transport"], "sse");
    assert_ne!(wa["session"], wb["session"], "two streams, two identities");
    let named = connect_sse(&format!("{}?session=pane-3", d.sse_url()), &[]).await;
    assert_eq!(
        call(&named, "whoami", json!({})).await.ok()["session"],
        "pane-3"
    );
    let by_header = connect_sse(&d.sse_url(), &[("X-Coord-Session", "pane-4")]).await;
    assert_eq!(
        call(&by_header, "whoami", json!({})).await.ok()["session"],
        "pane-4"
    );
    let h = call(&a, "health_check", json!({})).await;
    assert_eq!(h.ok()["connections"]["sse"], 4);
    d.stop().await;
}

#[tokio::test]
async fn legacy_sse_http_errors() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        s.server.max_body_bytes = 4096;
        s.messages.max_bytes = 1024;
    })
    .await;
    let http = reqwest::Client::new();
    // An unknown sessionId is 404; a bad session name on GET is 400; a foreign Origin 403.
    let r = http
        .post(format!("{}/message?sessionId=nope", d.base))
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(format!("{}?session=bad%20name", d.sse_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("allowed"));
    let r = http
        .get(d.sse_url())
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Open a real stream, then: malformed JSON 400, oversize 413, identity mismatch 403.
    let transport = crate::support::sse_client::SseClientTransport::connect(&format!(
        "{}?session=owner",
        d.sse_url()
    ))
    .await
    .unwrap();
    let endpoint = transport.endpoint().to_string();
    let r = http
        .post(&endpoint)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(&endpoint)
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"p":"{}"}}}}"#,
            "x".repeat(8000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // The endpoint repeats `&session=owner`; a POST naming another session is refused.
    let bare = endpoint.split("&session=").next().unwrap().to_string();
    let r = http
        .post(&bare)
        .header("X-Coord-Session", "someone-else")
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(&endpoint)
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        202,
        "the connection still works after bad requests"
    );
    drop(transport);
    d.stop().await;
}

#[tokio::test]
async fn two_daemons_never_share_an_embedded_data_directory() {
    let mut first = TestDaemon::embedded(|_| {}).await;
    let dir = first.coord().settings().store.data_dir.clone();
    let mut settings = crate::support::daemon::test_settings();
    settings.store.data_dir = dir.clone();
    let err = match mcp_coord::app::start(settings, &mcp_coord::config::Sources::default()).await {
        Ok(_) => panic!("a second daemon on {dir} must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("already uses the embedded data directory"),
        "{err}"
    );
    assert!(err.contains("REDIS_URL"), "says what to do: {err}");
    first.stop().await;
    assert!(std::path::Path::new(&dir).join("mcp-coord.lock").exists());
}
