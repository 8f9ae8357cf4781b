//! Issue 5: messages over MCP — round trips on both transports, fan-out targets, long-polls,
//! request/reply, privacy of inboxes, bounds, status routing, resource subscriptions on both
//! transports, `/events`, and two daemons on one Redis.

use std::time::{Duration, Instant};

use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, ResourceUpdatedNotificationParam, SubscribeRequestParams,
};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::client::{Client, ToolOutcome, call, connect_http, connect_sse, outcome};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;
use crate::support::sse_client::{SseClientTransport, SseEventParser};

/// Calls a tool through any client (plain or with a handler).
async fn call_on(peer: &Peer<RoleClient>, tool: &str, args: Value) -> ToolOutcome {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    outcome(peer.call_tool(params).await.expect("tool call"))
}

async fn as_http(d: &TestDaemon, name: &str) -> Client {
    let c = connect_http(&d.mcp_url(), &[("X-Coord-Session", name)]).await;
    call(&c, "whoami", json!({})).await.ok();
    c
}

async fn as_sse(d: &TestDaemon, name: &str) -> Client {
    let c = connect_sse(&format!("{}?session={name}", d.sse_url()), &[]).await;
    call(&c, "whoami", json!({})).await.ok();
    c
}

async fn inbox(c: &Client, args: Value) -> Vec<Value> {
    call(c, "get_session_messages", args).await.ok()["messages"]
        .as_array()
        .unwrap()
        .clone()
}

fn inbox_keys(redis: &RedisServer) -> Vec<String> {
    let mut c = redis.conn();
    let mut keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("claude:inbox:*")
        .query(&mut c)
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn round_trip_between_two_connections_and_inboxes_are_private() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let alice = as_http(&d, "alice").await;
    let bob = as_sse(&d, "bob").await;

    let sent = call(
        &alice,
        "send_message_to_session",
        json!({ "session_id": "bob", "message": "can you run the tests?", "kind": "question" }),
    )
    .await
    .ok()
    .clone();
    assert_eq!(sent["success"], true);
    assert_eq!(sent["recipients"][0]["to"], "bob");
    let id = sent["message_id"].as_str().unwrap().to_string();

    // Nobody but bob sees it: alice's inbox, a third connection's, and no inbox argument.
    let eve = as_http(&d, "eve").await;
    assert!(inbox(&eve, json!({})).await.is_empty());
    assert!(inbox(&alice, json!({})).await.is_empty());
    let refused = call(&eve, "get_session_messages", json!({ "session": "bob" })).await;
    assert!(
        refused.is_error,
        "an inbox cannot be named: {}",
        refused.text
    );

    let got = inbox(&bob, json!({})).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["from"], "alice", "stamped by the server");
    assert_eq!(got[0]["body"], "can you run the tests?");
    assert_eq!(got[0]["wants_reply"], true);
    assert_eq!(got[0]["id"], id.as_str());
    assert!(inbox(&bob, json!({})).await.is_empty(), "read once");

    // A reply without `to` goes to the sender of reply_to.
    let r = call(
        &bob,
        "send_message_to_session",
        json!({ "kind": "reply", "reply_to": id, "message": "green" }),
    )
    .await;
    assert_eq!(r.ok()["recipients"][0]["to"], "alice");
    let back = inbox(&alice, json!({})).await;
    assert_eq!(back[0]["kind"], "reply");
    assert_eq!(back[0]["reply_to"], id.as_str());
    assert_eq!(
        inbox_keys(&redis),
        [
            "claude:inbox:alice",
            "claude:inbox:bob",
            "claude:inbox:cursor:alice",
            "claude:inbox:cursor:bob",
        ]
    );
    d.stop().await;
}

#[tokio::test]
async fn parent_children_role_and_project_fan_out_and_status_routing() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let master = as_http(&d, "master_project_p").await;
    let c1 = as_http(&d, "child_p_task_1").await;
    let c2 = as_sse(&d, "child_p_task_2").await;
    let qa = connect_http(&d.mcp_url(), &[]).await;
    call(
        &qa,
        "register_session",
        json!({ "name": "qa1", "project": "p", "metadata": { "role": "tester" } }),
    )
    .await
    .ok();
    let outsider = as_http(&d, "loner").await;

    let to_children = call(
        &master,
        "send_message_to_session",
        json!({ "to": "children", "message": "stand by", "kind": "task" }),
    )
    .await;
    let names: Vec<&str> = to_children.ok()["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["to"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["child_p_task_1", "child_p_task_2"]);
    assert_eq!(inbox(&c2, json!({})).await[0]["kind"], "task");

    call(
        &c1,
        "send_message_to_session",
        json!({ "to": "parent", "message": "starting" }),
    )
    .await
    .ok();
    let tester = call(
        &c1,
        "send_message_to_session",
        json!({ "to": "role:tester", "message": "please test" }),
    )
    .await;
    assert_eq!(tester.ok()["delivered_count"], 1);
    assert_eq!(inbox(&qa, json!({})).await[0]["body"], "please test");
    let everyone = call(
        &c1,
        "send_message_to_session",
        json!({ "to": "project", "message": "merging now" }),
    )
    .await;
    assert_eq!(everyone.ok()["delivered_count"], 3, "{}", everyone.text);
    assert!(inbox(&outsider, json!({})).await.is_empty());
    let own = inbox(&c1, json!({})).await;
    assert_eq!(
        own.len(),
        1,
        "the task from the master, not its own: {own:?}"
    );
    assert_eq!(own[0]["from"], "master_project_p");
    let none = call(
        &outsider,
        "send_message_to_session",
        json!({ "to": "project", "message": "hi" }),
    )
    .await;
    assert!(
        none.err()["message"]
            .as_str()
            .unwrap()
            .contains("no project")
    );

    // Status reports reach the parent; done and failed are final.
    call(
        &c1,
        "report_session_status",
        json!({ "state": "working", "progress": 50 }),
    )
    .await
    .ok();
    call(
        &c2,
        "report_session_status",
        json!({ "state": "done", "summary": "all green" }),
    )
    .await
    .ok();
    let statuses = inbox(&master, json!({ "kinds": ["status"] })).await;
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0]["from"], "child_p_task_1");
    assert_eq!(statuses[0]["state"], "working");
    assert!(statuses[0].get("final").is_none());
    assert_eq!(statuses[1]["state"], "done");
    assert_eq!(statuses[1]["final"], true);
    // The other messages stayed unread.
    let rest = inbox(&master, json!({})).await;
    assert_eq!(rest.len(), 2, "{rest:?}");

    // coordinate_sessions: one task each, per-session delivery.
    let co = call(
        &master,
        "coordinate_sessions",
        json!({
            "task_description": "ship the auth feature",
            "session_assignments": { "child_p_task_1": "backend", "ghost": "frontend" },
        }),
    )
    .await;
    let co = co.ok();
    assert_eq!(
        (co["delivered_count"].as_u64(), co["failed_count"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(co["assignments"][0]["session"], "child_p_task_1");
    assert_eq!(co["assignments"][1]["delivered"], false);
    let task = inbox(&c1, json!({})).await;
    assert_eq!(task[0]["kind"], "task");
    assert!(
        task[0]["body"]
            .as_str()
            .unwrap()
            .ends_with("Your part: backend")
    );
    d.stop().await;
}

#[tokio::test]
async fn a_long_poll_wakes_when_the_message_arrives() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let alice = as_http(&d, "alice").await;
    let bob = as_sse(&d, "bob").await;
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let got = inbox(&bob, json!({ "wait_seconds": 10 })).await;
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    call(
        &alice,
        "send_message_to_session",
        json!({ "to": "bob", "message": "wake up" }),
    )
    .await
    .ok();
    let (got, elapsed) = poll.await.unwrap();
    assert_eq!(got[0]["body"], "wake up");
    assert!(
        elapsed < Duration::from_secs(5),
        "woke at {elapsed:?}, not at its timeout"
    );
    println!("long-poll woke {elapsed:?} after it started (message sent at ~200 ms)");
    d.stop().await;
}

#[tokio::test]
async fn request_reply_with_and_without_a_timeout() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let alice = std::sync::Arc::new(as_http(&d, "alice").await);
    let bob = as_http(&d, "bob").await;

    let ask = {
        let alice = alice.clone();
        tokio::spawn(async move {
            call(
                &alice,
                "send_message_to_session",
                json!({ "to": "bob", "message": "ready?", "wait_for_response": true, "timeout_seconds": 10 }),
            )
            .await
        })
    };
    let q = inbox(&bob, json!({ "wait_seconds": 5 })).await;
    assert_eq!(q[0]["wants_reply"], true);
    call(
        &bob,
        "send_message_to_session",
        json!({ "to": "alice", "kind": "reply", "reply_to": q[0]["id"], "message": "yes" }),
    )
    .await
    .ok();
    let answered = ask.await.unwrap();
    let answered = answered.ok();
    assert_eq!(answered["response_status"], "received");
    assert_eq!(answered["response"]["body"], "yes");
    assert_eq!(answered["response"]["from"], "bob");
    assert!(
        inbox(&alice, json!({})).await.is_empty(),
        "taken, not delivered twice"
    );

    // Nobody answers: the timeout passes.
    let lonely = call(
        &alice,
        "send_message_to_session",
        json!({ "to": "bob", "message": "still there?", "wait_for_response": true, "timeout_seconds": 1 }),
    )
    .await;
    let lonely = lonely.ok();
    assert_eq!(lonely["response_status"], "timeout");
    assert!(lonely["response"].is_null());

    // wait_for_response on its own, after the reply is already there.
    let id = lonely["message_id"].as_str().unwrap();
    call(
        &bob,
        "send_message_to_session",
        json!({ "to": "alice", "kind": "reply", "reply_to": id, "message": "late" }),
    )
    .await
    .ok();
    let w = call(
        &alice,
        "wait_for_response",
        json!({ "message_id": id, "timeout_seconds": 5 }),
    )
    .await;
    assert_eq!(w.ok()["received"], true);
    assert_eq!(w.ok()["response"]["body"], "late");
    let none = call(
        &alice,
        "wait_for_response",
        json!({ "message_id": id, "timeout_seconds": 1 }),
    )
    .await;
    assert_eq!(none.ok()["received"], false, "handed out once");
    d.stop().await;
}

#[tokio::test]
async fn bad_input_and_unreachable_recipients_are_refused_without_keys() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| s.messages.max_bytes = 100).await;
    let alice = as_http(&d, "alice").await;
    let bob = as_http(&d, "bob").await;
    let send = |args: Value| call(&alice, "send_message_to_session", args);

    let big = send(json!({ "to": "bob", "message": "x".repeat(101) })).await;
    assert!(
        big.err()["message"]
            .as_str()
            .unwrap()
            .contains("messages.max_bytes")
    );
    let unknown = send(json!({ "to": "nobody", "message": "hi" })).await;
    let text = unknown.err()["message"].as_str().unwrap().to_string();
    assert!(
        text.contains("nobody") && text.contains("list_sessions"),
        "{text}"
    );
    assert_eq!(unknown.err()["error"], "not_found");
    for bad in [
        json!({ "to": "bob", "message": "hi", "kind": "shout" }),
        json!({ "to": "bob", "message": "hi", "kind": "status" }),
        json!({ "to": "bob", "message": "hi", "kind": "reply" }),
        json!({ "to": "bob", "message": "hi", "ttl_seconds": 0 }),
        json!({ "to": "bad name", "message": "hi" }),
        json!({ "to": "bob", "message": "   " }),
        json!({ "to": "bob", "message": "hi", "reply_to": "nope" }),
    ] {
        let r = send(bad.clone()).await;
        assert!(r.is_error, "{bad} should be refused");
    }
    assert!(inbox_keys(&redis).is_empty(), "refusals create no keys");

    call(&bob, "end_session", json!({})).await.ok();
    let ended = send(json!({ "to": "bob", "message": "hi" })).await;
    assert!(
        ended.err()["message"]
            .as_str()
            .unwrap()
            .contains("has ended"),
        "{}",
        ended.text
    );

    // A per-message TTL makes readers skip it.
    let carol = as_http(&d, "carol").await;
    send(json!({ "to": "carol", "message": "soon stale", "ttl_seconds": 1 }))
        .await
        .ok();
    send(json!({ "to": "carol", "message": "kept" })).await.ok();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let left = inbox(&carol, json!({})).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["body"], "kept");
    d.stop().await;
}

/// A client that forwards `notifications/resources/updated` to a channel.
#[derive(Clone)]
pub(crate) struct Watcher(mpsc::UnboundedSender<String>);

impl ClientHandler for Watcher {
    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params.uri);
    }
}

type Watching = (
    RunningService<RoleClient, Watcher>,
    mpsc::UnboundedReceiver<String>,
);

async fn watch_http(url: &str, name: &str) -> Watching {
    let (tx, rx) = mpsc::unbounded_channel();
    (watch_with(url, name, tx).await, rx)
}

/// A Streamable-HTTP client acting as `name` that forwards resource updates to `tx`.
pub(crate) async fn watch_with(
    url: &str,
    name: &str,
    tx: mpsc::UnboundedSender<String>,
) -> RunningService<RoleClient, Watcher> {
    let mut headers = std::collections::HashMap::new();
    headers.insert(
        http::HeaderName::from_static("x-coord-session"),
        http::HeaderValue::from_str(name).unwrap(),
    );
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            url.to_string(),
        )
        .custom_headers(headers);
    let transport = rmcp::transport::StreamableHttpClientTransport::from_config(config);
    Watcher(tx).serve(transport).await.expect("connects")
}

async fn watch_sse(url: &str, name: &str) -> Watching {
    let (tx, rx) = mpsc::unbounded_channel();
    let transport = SseClientTransport::connect(&format!("{url}?session={name}"))
        .await
        .expect("SSE stream opens");
    (Watcher(tx).serve(transport).await.expect("connects"), rx)
}

#[allow(deprecated)]
async fn subscribe(client: &Peer<RoleClient>, uri: &str) {
    client
        .subscribe(SubscribeRequestParams::new(uri))
        .await
        .expect("subscribed");
}

async fn expect_update(rx: &mut mpsc::UnboundedReceiver<String>, uri: &str) -> Duration {
    let started = Instant::now();
    loop {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no update of {uri}"))
            .expect("channel open");
        if got == uri {
            return started.elapsed();
        }
    }
}

#[tokio::test]
async fn subscribers_are_notified_on_both_transports() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let (h, mut h_rx) = watch_http(&d.mcp_url(), "hw").await;
    let (s, mut s_rx) = watch_sse(&d.sse_url(), "sw").await;
    call_on(&h, "whoami", json!({})).await.ok();
    call_on(&s, "whoami", json!({})).await.ok();

    let listed = h.list_all_resources().await.unwrap();
    let uris: Vec<&str> = listed.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "coord://sessions",
            "coord://locks",
            "coord://inbox",
            "coord://tasks"
        ]
    );
    let templates = s.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "coord://sessions/{name}");

    for (peer, _) in [(&h, 0), (&s, 1)] {
        subscribe(peer, "coord://inbox").await;
        subscribe(peer, "coord://sessions").await;
        subscribe(peer, "coord://locks").await;
        subscribe(peer, "coord://sessions/w9").await;
    }
    let unknown = {
        #[allow(deprecated)]
        h.subscribe(SubscribeRequestParams::new("coord://nope"))
            .await
    };
    assert!(unknown.is_err());

    // A message to each: only the recipient's inbox subscription fires.
    let sender = as_http(&d, "sender").await;
    call(
        &sender,
        "send_message_to_session",
        json!({ "to": "sw", "message": "hi" }),
    )
    .await
    .ok();
    let sse_latency = expect_update(&mut s_rx, "coord://inbox").await;
    call(
        &sender,
        "send_message_to_session",
        json!({ "to": "hw", "message": "hi" }),
    )
    .await
    .ok();
    let http_latency = expect_update(&mut h_rx, "coord://inbox").await;
    println!(
        "inbox notification after the send returned: sse {sse_latency:?}, streamable-http {http_latency:?}"
    );

    // Reading the resource peeks.
    let read = s
        .read_resource(rmcp::model::ReadResourceRequestParams::new("coord://inbox"))
        .await
        .unwrap();
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("{other:?}"),
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["unread"], 1);
    assert_eq!(v["messages"][0]["to"], "sw");

    // A lock and a session change reach both.
    call(&sender, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    expect_update(&mut h_rx, "coord://locks").await;
    expect_update(&mut s_rx, "coord://locks").await;
    let w9 = as_http(&d, "w9").await;
    call(&w9, "report_session_status", json!({ "state": "working" }))
        .await
        .ok();
    expect_update(&mut h_rx, "coord://sessions/w9").await;
    expect_update(&mut s_rx, "coord://sessions/w9").await;
    d.stop().await;
}

/// Reads `/events` until an event of `kind` arrives.
pub(crate) async fn next_event(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    parser: &mut SseEventParser,
    kind: &str,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event"))
            .expect("stream open")
            .unwrap();
        for e in parser.feed(&chunk) {
            if e.event == kind {
                return serde_json::from_str(&e.data).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn the_events_stream_yields_changes() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let resp = reqwest::get(format!("{}/events", d.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut parser = SseEventParser::default();
    next_event(&mut body, &mut parser, "ready").await;
    let a = as_http(&d, "alice").await;
    let e = next_event(&mut body, &mut parser, "session_registered").await;
    assert_eq!(e["session"], "alice");
    call(
        &a,
        "send_message_to_session",
        json!({ "to": "alice", "message": "note to self" }),
    )
    .await
    .ok();
    let e = next_event(&mut body, &mut parser, "message_sent").await;
    assert_eq!(
        (e["from"].as_str(), e["to"].as_str()),
        (Some("alice"), Some("alice"))
    );
    assert!(
        e.get("body").is_none(),
        "bodies stay out of the event stream"
    );

    let foreign = reqwest::Client::new()
        .get(format!("{}/events", d.base))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    d.stop().await;
}

#[tokio::test]
async fn two_daemons_on_one_redis_hear_each_other() {
    let redis = RedisServer::start();
    let mut a = TestDaemon::on_redis(&redis, |_| {}).await;
    let mut b = TestDaemon::on_redis(&redis, |_| {}).await;
    let alice = as_http(&a, "alice").await;
    let bob = as_sse(&b, "bob").await;
    let (watcher, mut rx) = watch_http(&b.mcp_url(), "watcher").await;
    subscribe(&watcher, "coord://sessions").await;
    subscribe(&watcher, "coord://locks").await;
    // Let both daemons' relays subscribe before anything happens.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let got = inbox(&bob, json!({ "wait_seconds": 10 })).await;
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    call(
        &alice,
        "send_message_to_session",
        json!({ "to": "bob", "message": "from A" }),
    )
    .await
    .ok();
    let (got, elapsed) = poll.await.unwrap();
    assert_eq!(got[0]["body"], "from A");
    assert!(elapsed < Duration::from_secs(5), "woke at {elapsed:?}");

    let newcomer = as_http(&a, "newcomer").await;
    expect_update(&mut rx, "coord://sessions").await;
    call(
        &newcomer,
        "acquire_lock",
        json!({ "lock_name": "pr-create" }),
    )
    .await
    .ok();
    let latency = expect_update(&mut rx, "coord://locks").await;
    println!("cross-daemon lock notification {latency:?} after acquire returned");

    // Each event once: B's own events are not echoed back through Redis.
    let mut events = b.coord().events().subscribe();
    let local = as_http(&b, "local").await;
    call(&local, "whoami", json!({})).await.ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut registered = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(&e, mcp_coord::service::Event::SessionRegistered { session, .. } if session == "local")
        {
            registered += 1;
        }
    }
    assert_eq!(registered, 1);
    a.stop().await;
    b.stop().await;
}

/// The relay sends a burst of events in one round trip: every one arrives, in order, at the
/// other daemon's feed (and the embedded store, with no other daemons, takes them quietly).
#[tokio::test]
async fn a_burst_of_events_reaches_the_other_daemon_whole_and_in_order() {
    let redis = RedisServer::start();
    let a = crate::conformance::redis_store(&redis, |_| {}).await;
    let b = crate::conformance::redis_store(&redis, |_| {}).await;
    let mut feed = b.event_feed().expect("redis has an event feed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> = (0..300).map(|i| format!("{{\"n\":{i}}}")).collect();
    a.publish_events(sent[..150].to_vec()).await.unwrap();
    a.publish_events(sent[150..].to_vec()).await.unwrap();
    let mut got = Vec::new();
    while got.len() < sent.len() {
        match tokio::time::timeout(Duration::from_secs(5), feed.recv()).await {
            Ok(Ok(p)) => got.push(p),
            other => panic!("after {} events: {other:?}", got.len()),
        }
    }
    assert_eq!(got, sent);
    let embedded = crate::conformance::embedded_store(|_| {}).await;
    embedded.publish_events(sent).await.unwrap();
    assert!(embedded.event_feed().is_none());
}

#[tokio::test]
async fn a_lock_taken_over_tells_the_old_holder_in_its_inbox() {
    let mut d = TestDaemon::embedded(|s| {
        s.sessions.active_seconds = 1;
        s.sessions.idle_seconds = 2;
        s.sessions.stale_seconds = 60;
    })
    .await;
    let old = as_http(&d, "old").await;
    let new = as_http(&d, "new").await;
    call(&old, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    tokio::time::sleep(Duration::from_millis(2100)).await; // old is stale now
    let took = call(
        &new,
        "acquire_lock",
        json!({ "lock_name": "pytest", "force": true }),
    )
    .await;
    assert_eq!(took.ok()["taken_over_from"], "old");
    let note = inbox(&old, json!({})).await;
    assert_eq!(note.len(), 1, "{note:?}");
    assert_eq!(note[0]["from"], "mcp-coord");
    assert_eq!(note[0]["system"], true);
    assert!(
        note[0]["body"]
            .as_str()
            .unwrap()
            .contains("taken over by new")
    );
    d.stop().await;
}

fn hook_event(event: &str, session: &str) -> Value {
    let mut v = crate::hooks::fixture(event);
    v["coord"] = json!({ "session": session });
    v
}

/// As `mcp-coord hook` posts it (with the session's credential).
async fn post_hook(base: &str, body: &Value) -> Value {
    crate::support::client::post_hook(base, body).await.1
}

#[tokio::test]
async fn hooks_deliver_unread_messages_once_and_stop_on_an_unread_task() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    post_hook(&d.base, &hook_event("SessionStart", "child_web_task_1")).await;
    let master = as_http(&d, "master_project_web").await;
    call(
        &master,
        "send_message_to_session",
        json!({ "to": "child_web_task_1", "message": "note the new schema" }),
    )
    .await
    .ok();
    let answer = post_hook(&d.base, &hook_event("PostToolUse", "child_web_task_1")).await;
    let ctx = answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap_or_else(|| panic!("context expected: {answer}"));
    assert!(ctx.contains("note the new schema") && ctx.contains("master_project_web"));
    let again = post_hook(&d.base, &hook_event("PostToolUse", "child_web_task_1")).await;
    assert!(
        again.get("hookSpecificOutput").is_none(),
        "each message once: {again}"
    );

    call(
        &master,
        "send_message_to_session",
        json!({ "to": "child_web_task_1", "kind": "task", "message": "also fix the docs" }),
    )
    .await
    .ok();
    let stop = post_hook(&d.base, &hook_event("Stop", "child_web_task_1")).await;
    assert_eq!(stop["decision"], "block", "{stop}");
    assert!(
        stop["reason"]
            .as_str()
            .unwrap()
            .contains("also fix the docs")
    );
    let stop = post_hook(&d.base, &hook_event("Stop", "child_web_task_1")).await;
    assert!(stop.get("decision").is_none(), "{stop}");
    d.stop().await;
}
