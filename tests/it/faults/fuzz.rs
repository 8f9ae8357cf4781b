//! A bounded, seeded fuzzer of malformed and hostile requests on both transports (issue 14):
//! the daemon (a separate process) stays up, every request gets an answer, and no junk key
//! appears in Redis — nor a row from refused input in the embedded store's `state.db`
//! (read with SQLite after the run: every lock and session name in a key column is one the
//! daemon accepts).
//!
//! Two layers: raw HTTP bodies (garbage bytes, truncated or mistyped JSON-RPC, huge ids,
//! deep nesting) posted to `/mcp` and to a live legacy-SSE `/message` endpoint; and
//! well-formed tool calls with hostile arguments (unknown tools, wrong types, negative and
//! huge numbers, glob and path tricks, control characters, 20 KB strings) through real MCP
//! clients on both transports. Replay a failure with its printed seed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Lcg;
use crate::support::client::{Client, connect_http, connect_sse};
use crate::support::process::DaemonProcess;
use crate::support::redis::RedisServer;
use crate::support::sse_client::SseClientTransport;

const RAW_PER_TRANSPORT: usize = 150;
const CALLS_PER_TRANSPORT: usize = 150;
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
const SEED: u64 = 0x14_f0_22;

const TOOLS: &[&str] = &[
    "acquire_lock",
    "release_lock",
    "extend_lock",
    "check_lock",
    "list_locks",
    "register_session",
    "report_session_status",
    "send_message_to_session",
    "get_session_messages",
    "wait_for_response",
    "list_sessions",
    "get_session_status",
    "bind_session",
    "end_session",
    "no_such_tool",
    "../../etc/passwd",
];

const KEYS: &[&str] = &[
    "lock_name",
    "timeout_seconds",
    "wait_seconds",
    "reason",
    "force",
    "branch",
    "pattern",
    "to",
    "message",
    "kind",
    "reply_to",
    "session",
    "name",
    "parent",
    "limit",
    "peek",
    "state",
    "progress",
    "summary",
    "role",
    "project",
];

fn hostile_value(rng: &mut Lcg) -> Value {
    match rng.below(16) {
        0 => json!(-1),
        1 => json!(i64::MAX),
        2 => json!(1e308),
        3 => json!(""),
        4 => json!("*"),
        5 => json!("../../../etc/passwd"),
        6 => json!("issue:"),
        7 => json!("wave:5c..1"),
        8 => json!("a\u{0}b\r\nc\u{1b}[31m"),
        9 => json!("x".repeat(20_000)),
        10 => json!({ "nested": { "deeper": [1, 2, { "x": null }] } }),
        11 => json!([1, "two", null]),
        12 => json!(true),
        13 => json!(null),
        14 => json!("path:/abs/../../x"),
        _ => json!(format!("fuzz-{}", rng.below(1000))),
    }
}

fn hostile_args(rng: &mut Lcg) -> Value {
    let mut map = serde_json::Map::new();
    for _ in 0..rng.below(5) {
        let key = KEYS[rng.below(KEYS.len() as u64) as usize];
        map.insert(key.to_string(), hostile_value(rng));
    }
    Value::Object(map)
}

fn raw_body(rng: &mut Lcg) -> Vec<u8> {
    match rng.below(10) {
        0 => (0..rng.below(200)).map(|_| rng.below(256) as u8).collect(),
        1 => br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"acquire_lock","argu"#.to_vec(),
        2 => br#"{"jsonrpc":"2.0","id":99999999999999999999999,"method":"tools/list"}"#.to_vec(),
        3 => {
            let depth = 200 + rng.below(800) as usize;
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        }
        4 => br#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":7,"arguments":"no"}}"#.to_vec(),
        5 => br#"{"jsonrpc":"1.0","method":"initialize"}"#.to_vec(),
        6 => br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"bogus":true}]"#.to_vec(),
        7 => json!({"jsonrpc":"2.0","id":rng.below(100),"method":"tools/call",
                    "params":{"name":"acquire_lock","arguments":hostile_args(rng)}})
            .to_string()
            .into_bytes(),
        8 => Vec::new(),
        _ => "\u{feff}{\"jsonrpc\":\"2.0\"}".as_bytes().to_vec(),
    }
}

/// Posts `body` and returns the status, or fails the test when nothing answers.
async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>, session: Option<&str>) -> u16 {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    match tokio::time::timeout(ANSWER_WITHIN, req.send()).await {
        Ok(Ok(r)) => r.status().as_u16(),
        Ok(Err(e)) => panic!("POST {url}: no answer: {e}"),
        Err(_) => panic!("POST {url}: no answer within {ANSWER_WITHIN:?}"),
    }
}

async fn hostile_calls(client: &Client, rng: &mut Lcg, transport: &str) -> (usize, usize) {
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..CALLS_PER_TRANSPORT {
        let tool = TOOLS[rng.below(TOOLS.len() as u64) as usize];
        let mut params = rmcp::model::CallToolRequestParams::new(tool.to_string());
        if let Value::Object(m) = hostile_args(rng) {
            params = params.with_arguments(m);
        }
        match tokio::time::timeout(ANSWER_WITHIN, client.call_tool(params)).await {
            Ok(Ok(r)) if r.is_error == Some(true) => refused += 1,
            Ok(Ok(_)) => ok += 1,
            // A JSON-RPC error (unknown tool, bad params) is an answer too.
            Ok(Err(rmcp::ServiceError::McpError(_))) => refused += 1,
            Ok(Err(e)) => panic!("{transport} {tool}: transport failed: {e}"),
            Err(_) => panic!("{transport} {tool}: no answer within {ANSWER_WITHIN:?}"),
        }
    }
    (ok, refused)
}

/// The fuzz itself, against a daemon on `redis` (or on the embedded store): raw bodies and
/// hostile tool calls; the daemon must stay up, answer everything, and still serve. Returns
/// the daemon and a summary of what was sent.
async fn fuzz(redis: Option<&RedisServer>) -> (DaemonProcess, String) {
    let mut daemon = DaemonProcess::start(redis.map(|r| r.url()).as_deref(), &[]);
    let mut rng = Lcg(SEED);
    let started = Instant::now();
    let http = reqwest::Client::new();

    // Raw bodies: Streamable HTTP without and with a (bogus) session, and legacy SSE.
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..RAW_PER_TRANSPORT {
        let session = (i % 3 == 0).then_some("not-a-session");
        let s = post(&http, &daemon.mcp_url(), raw_body(&mut rng), session).await;
        *statuses.entry(s).or_insert(0) += 1;
    }
    for batch in 0..3 {
        let sse = SseClientTransport::connect(&daemon.sse_url())
            .await
            .expect("an SSE stream");
        let endpoint = sse.endpoint().to_string();
        for _ in 0..RAW_PER_TRANSPORT / 3 {
            let s = post(&http, &endpoint, raw_body(&mut rng), None).await;
            *statuses.entry(s).or_insert(0) += 1;
        }
        let bogus = format!("{}/message?sessionId=fuzz-{batch}", daemon.base());
        let s = post(&http, &bogus, raw_body(&mut rng), None).await;
        *statuses.entry(s).or_insert(0) += 1;
    }

    // Hostile tool calls through real clients.
    let h = connect_http(&daemon.mcp_url(), &[("X-Coord-Session", "fuzzer-http")]).await;
    let (h_ok, h_refused) = hostile_calls(&h, &mut rng, "streamable-http").await;
    let s = connect_sse(&daemon.sse_url(), &[("X-Coord-Session", "fuzzer-sse")]).await;
    let (s_ok, s_refused) = hostile_calls(&s, &mut rng, "sse").await;

    assert!(daemon.is_running(), "the daemon died:\n{}", daemon.log());
    assert_eq!(super::health(&daemon.base()).await, Some(200));
    // And it still does its job.
    let ok = connect_http(&daemon.mcp_url(), &[("X-Coord-Session", "after")]).await;
    let mut p = rmcp::model::CallToolRequestParams::new("acquire_lock".to_string());
    p = p.with_arguments(
        json!({"lock_name": "after-fuzz"})
            .as_object()
            .cloned()
            .unwrap(),
    );
    let r = ok.call_tool(p).await.expect("an answer");
    assert_ne!(
        r.is_error,
        Some(true),
        "a plain acquire after the fuzz: {r:?}"
    );

    let summary = format!(
        "fuzzer (seed {SEED:#x}): {} raw requests answered (status counts {statuses:?}); \
         {} hostile tool calls on streamable-http ({h_ok} ok, {h_refused} refused) and {} on \
         sse ({s_ok} ok, {s_refused} refused); {:.1} s",
        statuses.values().sum::<i32>(),
        h_ok + h_refused,
        s_ok + s_refused,
        started.elapsed().as_secs_f64()
    );
    (daemon, summary)
}

/// The same string hygiene for every name the store keeps (a Redis key, a table's key
/// column): no hostile input became one.
fn assert_clean_name(what: &str, k: &str) {
    assert!(
        k.len() < 400 && !k.chars().any(char::is_control),
        "junk {what} {k:?}"
    );
    assert!(
        !k.contains("..") && !k.contains('*') && !k.contains("etc/passwd"),
        "a hostile name became a {what}: {k:?}"
    );
}

#[tokio::test]
async fn hostile_requests_on_both_transports_leave_the_daemon_up_and_the_store_clean() {
    let redis = RedisServer::start();
    let (_daemon, summary) = fuzz(Some(&redis)).await;

    // No junk keys: every key is one of ours, readable, and of a bounded size.
    let mut conn = redis.conn();
    let keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    const FAMILIES: &[&str] = &[
        "locks:",
        "sessions:",
        "heartbeat:",
        "inbox:",
        "events",
        "reaper:",
        "store:epoch",
        "audit",
        "daemons",
    ];
    for k in &keys {
        let rest = k
            .strip_prefix("claude:")
            .unwrap_or_else(|| panic!("a key outside the prefix: {k:?}"));
        assert!(
            FAMILIES.iter().any(|f| rest.starts_with(f)),
            "junk key {k:?}"
        );
        assert_clean_name("key", k);
    }
    println!("{summary}; {} keys in Redis, none junk", keys.len());
}

/// What a key column of the embedded store's tables must be: every lock name one the
/// daemon accepts (canonical), every session name a valid one.
#[derive(Clone, Copy)]
enum Column {
    Lock,
    Session,
    /// Claude Code session ids use the session-name charset.
    ClaudeId,
    /// Only the string hygiene (tables this check does not know, numbers, meta keys).
    Any,
}

fn column_rule(table: &str, column: &str) -> Column {
    match (table, column) {
        ("locks" | "fences" | "lock_delays", "name") | ("takeover_notes", "lock") => Column::Lock,
        ("takeover_notes", "session")
        | (
            "sessions" | "session_last_seen" | "sessions_ended" | "session_status_history",
            "name",
        )
        | ("inboxes", "session")
        | ("messages", "recipient") => Column::Session,
        ("claude_bindings", "claude_id") => Column::ClaudeId,
        _ => Column::Any,
    }
}

#[tokio::test]
async fn hostile_requests_leave_no_junk_row_in_the_embedded_store() {
    let (mut daemon, summary) = fuzz(None).await;
    // An orderly stop, so the file is complete and nobody writes while it is read.
    daemon.terminate();
    let db = daemon
        .dir()
        .join("data")
        .join(mcp_coord::store::memory::DB_FILE);
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("{} opens: {e}", db.display()));
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows = 0;
    for table in &tables {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut select = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let mut found = select.query([]).unwrap();
        while let Some(row) = found.next().unwrap() {
            rows += 1;
            for (i, column) in columns.iter().enumerate() {
                let cell: rusqlite::types::Value = row.get(i).unwrap();
                let rusqlite::types::Value::Text(text) = cell else {
                    continue;
                };
                if *column == "value" {
                    serde_json::from_str::<Value>(&text)
                        .unwrap_or_else(|e| panic!("{table}: a value that is not JSON ({e})"));
                    continue;
                }
                assert_clean_name(&format!("{table}.{column}"), &text);
                match column_rule(table, column) {
                    Column::Lock => {
                        let parsed = mcp_coord::domain::lock_name::LockName::parse(&text, None)
                            .unwrap_or_else(|e| {
                                panic!("{table}: a refused lock name {text:?}: {e}")
                            });
                        assert_eq!(parsed.as_str(), text, "{table}: not a canonical name");
                    }
                    Column::Session | Column::ClaudeId => {
                        mcp_coord::domain::session_name::validate(&text).unwrap_or_else(|e| {
                            panic!("{table}: a refused session name {text:?}: {e}")
                        })
                    }
                    Column::Any => {}
                }
            }
        }
    }
    assert!(
        rows > 0,
        "the fuzz left no row at all: is this the daemon's file?"
    );
    println!(
        "{summary}; {rows} rows in {} tables of state.db, none from refused input",
        tables.len()
    );
}
