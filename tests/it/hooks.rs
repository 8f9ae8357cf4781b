//! Issue 6: Claude Code hooks (real stdin JSON per event → daemon answers, through
//! `POST /hooks/claude` and through the `mcp-coord hook` binary), the daemon-down path, and
//! the `bind_session` identity handshake.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::client::{call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-coord");
/// The Claude session id in every fixture.
const CLAUDE_ID: &str = "3e5ef588-0253-46bd-8b36-46ed60af3a3f";

pub fn fixture(event: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/hooks/{event}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists"))
        .expect("fixture is JSON")
}

/// As `mcp-coord hook` posts an event (with the session's credential); other modules use it.
pub use crate::support::client::post_hook;

/// Runs `mcp-coord --url URL hook` with `stdin`, extra env; returns (exit code, stdout).
pub fn run_hook(url: &str, stdin: &str, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["--url", url, "hook"])
        .env("XDG_STATE_HOME", crate::support::binary::state_home())
        .env_remove("COORD_SESSION")
        .env_remove("COORD_CREDENTIAL")
        .env_remove("MASTER_SESSION_ID")
        .env_remove("MCP_COORD_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn every_event_answers_through_http() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let (status, start) = post_hook(&d.base, &fixture("SessionStart")).await;
    assert_eq!(status, 200);
    let ctx = start["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .expect("SessionStart answers with additionalContext");
    assert_eq!(start["hookSpecificOutput"]["hookEventName"], "SessionStart");
    // Started by hand (no COORD_SESSION) in /tmp/cap: named after its directory.
    assert!(ctx.contains("you are session `cap`"), "{ctx}");
    assert!(
        ctx.contains("acquire_lock(\"pytest\")")
            && ctx.contains("pr-create")
            && ctx.contains("\"work\""),
        "{ctx}"
    );
    assert!(ctx.len() < 10_000);

    for event in [
        "UserPromptSubmit",
        "PostToolUse",
        "Notification",
        "Stop",
        "SessionEnd",
    ] {
        let (status, answer) = post_hook(&d.base, &fixture(event)).await;
        assert_eq!(status, 200, "{event}");
        assert!(answer.is_object(), "{event}: {answer}");
        assert!(
            answer.get("decision").is_none(),
            "{event} must not block without messages: {answer}"
        );
    }

    // Bad input: a clear 400, never a crash.
    let (status, answer) = post_hook(&d.base, &json!({ "session_id": CLAUDE_ID })).await;
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("hook_event_name")
    );
    let mut bad = fixture("SessionStart");
    bad["session_id"] = json!("no spaces allowed");
    let (status, answer) = post_hook(&d.base, &bad).await;
    assert_eq!(status, 400, "{answer}");
    d.stop().await;
}

/// A session as `get_session_status` shows it.
async fn session(d: &TestDaemon, name: &str) -> Value {
    let c = connect_http(&d.mcp_url(), &[]).await;
    let v = call(&c, "get_session_status", json!({ "session": name }))
        .await
        .ok()
        .clone();
    let _ = c.cancel().await;
    v
}

#[tokio::test]
async fn events_drive_the_session_lifecycle_and_end_releases_locks() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let mut start = fixture("SessionStart");
    start["coord"] = json!({ "session": "child_web_task_3", "git_branch": "issue-42-auth",
        "worktree": "/src/web-42", "tmux_pane": "%3", "task_id": "3" });
    assert_eq!(post_hook(&d.base, &start).await.0, 200);
    let s = session(&d, "child_web_task_3").await;
    assert_eq!(s["parent"], "master_project_web", "parent by naming: {s}");
    assert_eq!(s["branch"], "issue-42-auth");
    assert_eq!(s["metadata"]["claude_session_id"], CLAUDE_ID);
    assert_eq!(s["metadata"]["tmux_pane"], "%3");
    assert_eq!(s["registered"], true);

    let with_name = |ev: &str| {
        let mut v = fixture(ev);
        v["coord"] = json!({ "session": "child_web_task_3" });
        v
    };
    post_hook(&d.base, &with_name("Notification")).await;
    assert_eq!(session(&d, "child_web_task_3").await["state"], "waiting");
    post_hook(&d.base, &with_name("PostToolUse")).await;
    post_hook(&d.base, &with_name("Stop")).await;
    assert_eq!(session(&d, "child_web_task_3").await["state"], "idle");

    // The agent holds a lock on its own connection (proven by the UserPromptSubmit
    // mcp_tool hook's bind_session); SessionEnd frees it.
    let agent = connect_http(&d.mcp_url(), &[("X-Coord-Session", "child_web_task_3")]).await;
    call(&agent, "bind_session", json!({ "session_id": CLAUDE_ID }))
        .await
        .ok();
    // A final report outlives the end of the turn: Stop does not turn `done` into `idle`.
    call(
        &agent,
        "report_session_status",
        json!({ "state": "done", "summary": "ok" }),
    )
    .await
    .ok();
    post_hook(&d.base, &with_name("Stop")).await;
    assert_eq!(session(&d, "child_web_task_3").await["state"], "done");
    call(&agent, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    let (status, _) = post_hook(&d.base, &with_name("SessionEnd")).await;
    assert_eq!(status, 200);
    let check = call(&agent, "check_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok()
        .clone();
    assert_eq!(check["free"], true, "{check}");
    let s = session(&d, "child_web_task_3").await;
    assert!(s["ended_at_ms"].is_number(), "{s}");
    let _ = agent.cancel().await;
    d.stop().await;
}

#[tokio::test]
async fn hook_binary_adds_env_facts_and_prints_the_answer() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let base = d.base.clone();
    let stdin = fixture("SessionStart").to_string();
    let (code, out) = tokio::task::spawn_blocking(move || {
        run_hook(
            &base,
            &stdin,
            &[
                ("COORD_SESSION", "child_web_task_3"),
                ("MASTER_SESSION_ID", "master_project_web"),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    let answer: Value = serde_json::from_str(out.trim()).expect("one JSON answer on stdout");
    let ctx = answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(ctx.contains("you are session `child_web_task_3`"), "{ctx}");
    assert!(
        ctx.contains("your parent session is `master_project_web`"),
        "{ctx}"
    );

    // An event with nothing to say prints nothing (Claude would show stray output).
    let base = d.base.clone();
    let stdin = fixture("Notification").to_string();
    let (code, out) = tokio::task::spawn_blocking(move || run_hook(&base, &stdin, &[]))
        .await
        .unwrap();
    assert_eq!((code, out.as_str()), (0, ""));
    d.stop().await;
}

#[tokio::test]
async fn hook_with_daemon_down_or_hung_prints_nothing_and_exits_0() {
    // Refused: a port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let stdin = fixture("SessionStart").to_string();
    let (code, out) = run_hook(&format!("http://{closed}"), &stdin, &[]);
    assert_eq!((code, out.as_str()), (0, ""));

    // Hung: accepts, never answers; the hook's own time bound ends it.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hung.local_addr().unwrap();
    let (code, out) = run_hook(&format!("http://{addr}"), &stdin, &[]);
    assert_eq!((code, out.as_str()), (0, ""));
    drop(hung);

    // Garbage on stdin: still silent and 0.
    let (code, out) = run_hook(&format!("http://{closed}"), "not json", &[]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[tokio::test]
async fn bind_session_follows_the_hook_registration_with_url_header_first() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    // The SessionStart hook ran in a pane with COORD_SESSION=w7.
    let mut start = fixture("SessionStart");
    start["coord"] = json!({ "session": "w7" });
    assert_eq!(post_hook(&d.base, &start).await.0, 200);

    // Hook path: an unbound connection, bound by the mcp_tool hook's call.
    let agent = connect_http(&d.mcp_url(), &[]).await;
    let before = call(&agent, "whoami", json!({})).await.ok().clone();
    assert_eq!(before["bound"], false);
    let bound = call(&agent, "bind_session", json!({ "session_id": CLAUDE_ID }))
        .await
        .ok()
        .clone();
    assert_eq!(
        (bound["session"].as_str(), bound["source"].as_str()),
        (Some("w7"), Some("hook"))
    );
    let me = call(&agent, "whoami", json!({})).await.ok().clone();
    assert_eq!(
        (me["session"].as_str(), me["bound"].as_bool()),
        (Some("w7"), Some(true))
    );
    // The generated name it used before binding is ended, not left behind as a ghost.
    let live = call(&agent, "list_sessions", json!({})).await.ok().clone();
    let names: Vec<&str> = live["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        !names.contains(&before["session"].as_str().unwrap()),
        "{names:?}"
    );
    assert!(names.contains(&"w7"), "{names:?}");
    // Idempotent: the next prompt's call changes nothing.
    let again = call(&agent, "bind_session", json!({ "session_id": CLAUDE_ID }))
        .await
        .ok()
        .clone();
    assert_eq!(again["changed"], false);

    // Same over legacy SSE — once the first connection is gone: while it is open, no other
    // connection may bind the same Claude session (issue 16).
    let sse = connect_sse(&d.sse_url(), &[]).await;
    let refused = call(&sse, "bind_session", json!({ "session_id": CLAUDE_ID })).await;
    assert_eq!(refused.err()["error"], "unauthorized_session");
    let _ = agent.cancel().await;
    let b = call(&sse, "bind_session", json!({ "session_id": CLAUDE_ID }))
        .await
        .ok()
        .clone();
    assert_eq!(b["session"], "w7");

    // URL/header binding wins: the connection keeps its name.
    let pinned = connect_http(&d.mcp_url(), &[("X-Coord-Session", "named-by-header")]).await;
    let b = call(&pinned, "bind_session", json!({ "session_id": CLAUDE_ID }))
        .await
        .ok()
        .clone();
    assert_eq!(
        (
            b["session"].as_str(),
            b["source"].as_str(),
            b["changed"].as_bool()
        ),
        (Some("named-by-header"), Some("url_or_header"), Some(false))
    );
    let me = call(&pinned, "whoami", json!({})).await.ok().clone();
    assert_eq!(me["session"], "named-by-header");

    // No hook registration known: Claude's id is the name (what the hook would choose).
    let other = connect_http(&d.mcp_url(), &[]).await;
    let b = call(
        &other,
        "bind_session",
        json!({ "session_id": "7f0e2c1d-aaaa-bbbb-cccc-123456789abc" }),
    )
    .await
    .ok()
    .clone();
    assert_eq!(
        (b["session"].as_str(), b["source"].as_str()),
        (
            Some("7f0e2c1d-aaaa-bbbb-cccc-123456789abc"),
            Some("claude_session_id")
        )
    );

    // Bad input changes nothing.
    let e = call(&other, "bind_session", json!({ "session_id": "a b" })).await;
    e.err();
    for c in [sse, pinned, other] {
        let _ = c.cancel().await;
    }
    d.stop().await;
}
