//! Issue 16's test matrix beyond `auth.rs` (401 on every route, roles): with `[auth]
//! required = true`, a token limited to `child_web_*` cannot act as another session on any
//! path — URL `?session=` (SSE), `X-Coord-Session` (Streamable HTTP), `register_session`,
//! `bind_session`, `POST /session/claim`, the hooks, the CLI's `--session`; an observer token
//! cannot post hooks or claim; what a token did is audited with its id; each connection of a
//! token has its own rate budget and the token's requests on no connection share one (another
//! connection and another token keep working); one connection keeps one token; a
//! non-loopback bind works with auth and is refused at start without it.

use serde_json::{Value, json};

use mcp_coord::service::tokens::CreateTokenArgs;

use crate::support::binary;
use crate::support::client::{call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;

/// A token with `role` and session `patterns`: (secret, id).
async fn token(d: &TestDaemon, role: &str, patterns: &[&str]) -> (String, String) {
    let created = d
        .coord()
        .create_token(CreateTokenArgs {
            role: role.into(),
            sessions: Some(patterns.iter().map(|p| p.to_string()).collect()),
            label: None,
        })
        .await
        .expect("token created");
    (created.token, created.id)
}

async fn post(d: &TestDaemon, path: &str, bearer: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", d.base))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .expect("daemon answers");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn hook_event(name: &str, claude_id: &str, session: &str) -> Value {
    json!({
        "hook_event_name": name, "session_id": claude_id, "cwd": "/tmp", "source": "startup",
        "coord": { "session": session, "want_credential": true },
    })
}

fn says_patterns(text: &str) {
    assert!(
        text.contains("child_web_*") && text.contains("may act only as"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_token_cannot_act_as_another_session_on_any_path() {
    let d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let (limited, _) = token(&d, "agent", &["child_web_*"]).await;
    let (free, _) = token(&d, "agent", &[]).await;
    let (observer, _) = token(&d, "observer", &[]).await;
    let limited_h = format!("Bearer {limited}");
    let free_h = format!("Bearer {free}");

    // The victim: registered by its hooks (with an unlimited token), holding a lock.
    let victim_claude = "6a0c0a5e-0000-4000-8000-00000000aaaa";
    let (status, answer) = post(
        &d,
        "/hooks/claude",
        &free,
        hook_event("SessionStart", victim_claude, "master_web"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let victim_credential = answer["coord"]["credential"].as_str().unwrap().to_string();
    let victim = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &free_h),
            ("X-Coord-Session", "master_web"),
            ("X-Coord-Credential", &victim_credential),
        ],
    )
    .await;
    let granted = call(&victim, "acquire_lock", json!({ "lock_name": "deploy" })).await;
    assert_eq!(granted.ok()["holder"], "master_web", "{}", granted.text);

    // Streamable HTTP header, and SSE URL: every call refused, naming the patterns.
    let by_header = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &limited_h),
            ("X-Coord-Session", "master_web"),
        ],
    )
    .await;
    says_patterns(
        &call(&by_header, "release_lock", json!({ "lock_name": "deploy" }))
            .await
            .text,
    );
    let by_url = connect_sse(
        &format!("{}?session=master_web", d.sse_url()),
        &[("Authorization", &limited_h)],
    )
    .await;
    says_patterns(
        &call(&by_url, "release_lock", json!({ "lock_name": "deploy" }))
            .await
            .text,
    );

    // register_session and bind_session on a connection with a generated name.
    let generated = connect_http(&d.mcp_url(), &[("Authorization", &limited_h)]).await;
    says_patterns(
        &call(
            &generated,
            "register_session",
            json!({ "name": "master_web" }),
        )
        .await
        .text,
    );
    says_patterns(
        &call(
            &generated,
            "bind_session",
            json!({ "session_id": victim_claude }),
        )
        .await
        .text,
    );
    // Its own names are fine.
    let mine = call(
        &generated,
        "register_session",
        json!({ "name": "child_web_task_1" }),
    )
    .await;
    assert_eq!(mine.ok()["name"], "child_web_task_1", "{}", mine.text);

    // /session/claim and the hooks: 403, naming the patterns; its own name works.
    let (status, answer) = post(
        &d,
        "/session/claim",
        &limited,
        json!({ "session": "master_web" }),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    says_patterns(answer["message"].as_str().unwrap());
    let (status, _) = post(
        &d,
        "/session/claim",
        &limited,
        json!({ "session": "child_web_task_2" }),
    )
    .await;
    assert_eq!(status, 200);
    for event in ["UserPromptSubmit", "SessionEnd"] {
        let (status, answer) = post(
            &d,
            "/hooks/claude",
            &limited,
            hook_event(event, "6a0c0a5e-0000-4000-8000-00000000bbbb", "master_web"),
        )
        .await;
        assert_eq!(status, 403, "{event}: {answer}");
        says_patterns(answer["message"].as_str().unwrap());
    }

    // An observer only reads: no claims, no hook events.
    for (path, body) in [
        ("/session/claim", json!({ "session": "watcher" })),
        (
            "/hooks/claude",
            hook_event(
                "SessionStart",
                "6a0c0a5e-0000-4000-8000-00000000cccc",
                "watcher",
            ),
        ),
    ] {
        let (status, answer) = post(&d, path, &observer, body).await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert_eq!(answer["needs_role"], "agent", "{answer}");
    }

    // The CLI's --session, with the limited token.
    let dir = tempfile::tempdir().unwrap();
    let mut cli = binary::command(
        dir.path(),
        &[
            "--url",
            &d.base,
            "--session",
            "master_web",
            "release",
            "deploy",
        ],
    );
    let out = cli.env("MCP_COORD_TOKEN", &limited).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    says_patterns(&String::from_utf8_lossy(&out.stderr));

    // After all that, the victim still holds its lock and is still itself.
    let held = call(&victim, "check_lock", json!({ "lock_name": "deploy" })).await;
    assert_eq!(held.ok()["held"]["holder"], "master_web", "{}", held.text);
    let who = call(&victim, "whoami", json!({})).await;
    assert_eq!(who.ok()["session"], "master_web");
}

/// Raw Streamable-HTTP request with `bearer`; returns (status, body text).
async fn raw_mcp(
    d: &TestDaemon,
    bearer: &str,
    session: Option<&str>,
    body: Value,
) -> (u16, String, Option<String>) {
    let mut r = reqwest::Client::new()
        .post(d.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(bearer)
        .json(&body);
    if let Some(s) = session {
        r = r.header("mcp-session-id", s);
    }
    let r = r.send().await.expect("daemon answers");
    let id = r
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (r.status().as_u16(), r.text().await.unwrap_or_default(), id)
}

/// The body of the first 429 among a flood's answers.
fn first_429(answers: Vec<(u16, String, Option<String>)>) -> String {
    answers
        .into_iter()
        .find(|(status, _, _)| *status == 429)
        .map(|(_, text, _)| text)
        .expect("the flood was limited")
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "matrix", "version": "0"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_who_did_it_and_whose_budget_it_is() {
    let d = TestDaemon::embedded(|s| {
        s.auth.required = true;
        s.limits.calls_per_second = 20;
        s.limits.calls_burst = 20;
    })
    .await;
    let (first, first_id) = token(&d, "agent", &[]).await;
    let (second, _) = token(&d, "agent", &[]).await;

    // The audit log names the token (its id, never the secret) as who did it.
    let client = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {first}")),
            ("X-Coord-Session", "audited"),
        ],
    )
    .await;
    call(
        &client,
        "acquire_lock",
        json!({ "lock_name": "audited-lock" }),
    )
    .await
    .ok();
    let log = call(&client, "audit_log", json!({ "session": "audited" })).await;
    let entries = log.ok()["entries"].as_array().cloned().unwrap_or_default();
    let granted = entries
        .iter()
        .find(|e| e["kind"] == "lock_granted")
        .unwrap_or_else(|| panic!("{}", log.text));
    assert_eq!(granted["by"]["token"], first_id.as_str(), "{granted}");
    assert_eq!(granted["by"]["session"], "audited");
    assert!(!log.text.contains(&first), "the secret is never in the log");

    // One connection keeps one token: the same MCP session with another token is refused.
    let (_, _, id) = raw_mcp(&d, &first, None, initialize()).await;
    let id = id.expect("an MCP session");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    raw_mcp(&d, &first, Some(&id), initialized).await;
    let whoami = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let (_, text, _) = raw_mcp(&d, &first, Some(&id), whoami.clone()).await;
    assert!(text.contains("\"bound\""), "{text}");
    let (_, text, _) = raw_mcp(&d, &second, Some(&id), whoami).await;
    assert!(text.contains("one connection keeps one token"), "{text}");

    // A flood on one connection of the first token (300 requests at once) exhausts that
    // connection's budget; another connection of the same token — another agent sharing
    // the token — keeps working.
    let flood = (0..300).map(|i| {
        let ping = json!({"jsonrpc": "2.0", "id": 10 + i, "method": "ping"});
        raw_mcp(&d, &first, Some(&id), ping)
    });
    let limited = first_429(futures::future::join_all(flood).await);
    assert!(limited.contains("this connection"), "{limited}");
    let out = call(
        &client,
        "acquire_lock",
        json!({ "lock_name": "same-token" }),
    )
    .await;
    assert_eq!(
        out.ok()["holder"],
        "audited",
        "another connection of the flooding token keeps its own budget: {}",
        out.text
    );

    // Requests of the first token on no connection (300 at once) share the token's own
    // budget: the limit follows the token. The second token keeps working.
    let flood = (0..300).map(|_| raw_mcp(&d, &first, None, json!({})));
    let limited = first_429(futures::future::join_all(flood).await);
    assert!(limited.contains("this token"), "{limited}");
    let (status, _, _) = raw_mcp(&d, &second, None, initialize()).await;
    assert_eq!(
        status, 200,
        "another token is not limited by the first one's flood"
    );
    let steady = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {second}")),
            ("X-Coord-Session", "steady"),
        ],
    )
    .await;
    let out = call(
        &steady,
        "acquire_lock",
        json!({ "lock_name": "steady-lock" }),
    )
    .await;
    assert_eq!(out.ok()["holder"], "steady", "{}", out.text);
}

/// This machine's first non-loopback IPv4 address (the route a datagram would take; no
/// packet is sent), if it has one.
fn non_loopback_ipv4() -> Option<std::net::Ipv4Addr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_bind_works_with_auth_and_is_refused_without() {
    // Without auth the daemon refuses to start, saying why.
    let dir = tempfile::tempdir().unwrap();
    let out = binary::command(dir.path(), &["serve", "--host", "0.0.0.0", "--port", "0"])
        .env("MCP_COORD_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[auth] required"), "{stderr}");

    let Some(ip) = non_loopback_ipv4() else {
        eprintln!("SKIPPED: this machine has no non-loopback IPv4 address");
        return;
    };
    let d = TestDaemon::embedded(|s| {
        s.server.host = "0.0.0.0".into();
        s.server.allowed_hosts = vec![ip.to_string()];
        s.auth.required = true;
    })
    .await;
    let port = d.daemon.as_ref().unwrap().addr.port();
    let url = format!("http://{ip}:{port}/mcp");
    let (secret, _) = token(&d, "agent", &[]).await;
    let r = reqwest::Client::new()
        .post(&url)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no token, no entry over the network");
    let remote = connect_http(
        &url,
        &[
            ("Authorization", &format!("Bearer {secret}")),
            ("X-Coord-Session", "remote"),
        ],
    )
    .await;
    let out = call(
        &remote,
        "acquire_lock",
        json!({ "lock_name": "remote-lock" }),
    )
    .await;
    assert_eq!(out.ok()["holder"], "remote", "{}", out.text);
}
