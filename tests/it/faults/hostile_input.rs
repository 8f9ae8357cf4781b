//! Findings of a fuzzer (2,200 hostile requests): each one is refused with the right code and
//! a message that says what is allowed, and changes nothing.

use serde_json::{Value, json};

use super::resume_after_restart::RawSse;
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

#[tokio::test]
async fn issue_numbers_are_non_negative_integers_and_wave_ids_well_formed() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let client = connect_http(&d.mcp_url(), &[]).await;
    for (name, needle) in [
        ("issue:-1", "non-negative integers"),
        ("issue:abc", "non-negative integers"),
        ("wave:-1", "letters and digits"),
        ("wave:5c_1", "letters and digits"),
    ] {
        let refused = call(&client, "acquire_lock", json!({ "lock_name": name })).await;
        assert_eq!(refused.err()["error"], "invalid_argument", "{name}");
        assert!(refused.text.contains(needle), "{name}: {}", refused.text);
    }
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("claude:locks:*")
        .query(&mut redis.conn())
        .unwrap();
    assert!(keys.is_empty(), "nothing was written: {keys:?}");
    call(&client, "acquire_lock", json!({ "lock_name": "issue:0" }))
        .await
        .ok();
    d.stop().await;
}

/// One raw JSON-RPC exchange on `/mcp` (initialize first), returning the reply.
async fn raw_mcp(url: &str, message: Value) -> Value {
    let http = reqwest::Client::new();
    let post = |body: Value, session: Option<String>| {
        let mut r = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(&body);
        if let Some(s) = session {
            r = r.header("mcp-session-id", s);
        }
        r.send()
    };
    let init = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "0"}}}),
        None,
    )
    .await
    .unwrap();
    let session = init
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let _ = init.text().await;
    let _ = post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        session.clone(),
    )
    .await
    .unwrap();
    let reply = post(message, session).await.unwrap().text().await.unwrap();
    // The answer is one JSON body, or an SSE stream whose data lines carry it.
    let json = reply
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| d.starts_with('{'))
        .unwrap_or(reply.trim());
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

#[tokio::test]
async fn tools_call_with_non_object_arguments_is_invalid_params_on_both_transports() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    for arguments in [json!(5), json!("x"), json!([1])] {
        let bad = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "whoami", "arguments": arguments}});
        let over_http = raw_mcp(&d.mcp_url(), bad.clone()).await;
        let mut sse = RawSse::open(&d.sse_url(), &[]).await;
        sse.initialize().await;
        let over_sse = sse
            .request(
                "tools/call",
                json!({"name": "whoami", "arguments": arguments}),
            )
            .await;
        for (transport, reply) in [("streamable-http", over_http), ("sse", over_sse)] {
            assert_eq!(reply["error"]["code"], -32602, "{transport}: {reply}");
            let message = reply["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("`arguments` must be an object"),
                "{transport}: {reply}"
            );
        }
    }
    d.stop().await;
}

#[tokio::test]
async fn a_post_naming_another_session_is_403_and_a_bad_name_400() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let http = reqwest::Client::new();
    let stream = http
        .get(format!("{}?session=mine", d.sse_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let mut parser = crate::support::sse_client::SseEventParser::default();
    let endpoint = loop {
        use futures::StreamExt;
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
            .await
            .expect("endpoint event")
            .expect("stream open")
            .unwrap();
        if let Some(e) = parser
            .feed(&chunk)
            .into_iter()
            .find(|e| e.event == "endpoint")
        {
            break e.data;
        }
    };
    let url = format!("{}{endpoint}", d.base);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    for (header, status) in [("someone-else", 403), ("bad name!", 400), ("mine", 202)] {
        let r = http
            .post(&url)
            .header("x-coord-session", header)
            .json(&ping)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "X-Coord-Session: {header}");
    }
    d.stop().await;
}
