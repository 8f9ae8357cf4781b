//! Issue 15: the waiting hook (`mcp-coord hook --wait`) that wakes an idle agent — the real
//! binary against the daemon: which kinds wake, exactly-once delivery across the wake-up, the
//! prompt context and the Stop block, one waiter per session, quiet retries while the daemon
//! is down; and `wait_for_children`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::support::binary::{BIN, clean_env};
use crate::support::client::{Client, call, connect_http, hook_credential, test_credential};
use crate::support::daemon::TestDaemon;
use crate::support::process::DaemonProcess;

/// Bound for a hook to finish once it should.
const HOOK_EXIT: Duration = Duration::from_secs(20);

/// Starts `mcp-coord --url BASE hook --wait` for session `name` (as COORD_SESSION), as
/// Claude Code would in an interactive session.
async fn waiting_hook(base: &str, name: &str, event: &str) -> Child {
    waiting_hook_with(base, name, event, &[]).await
}

/// [`waiting_hook`] with more environment (e.g. `MCP_COORD_WAKE_TRACE`).
async fn waiting_hook_with(base: &str, name: &str, event: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = std::process::Command::new(BIN);
    clean_env(&mut cmd);
    let mut cmd = Command::from(cmd);
    cmd.args(["--url", base, "hook", "--wait", "--max-wait-seconds", "120"])
        .env("COORD_SESSION", name)
        .env(
            "COORD_CREDENTIAL",
            hook_credential(base, name).unwrap_or_default(),
        )
        .env("CLAUDE_CODE_ENTRYPOINT", "cli")
        .env_remove("MCP_COORD_WAKE")
        .env_remove("CLAUDE_PID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("hook starts");
    let stdin = json!({ "hook_event_name": event, "session_id": format!("claude-{name}"),
        "cwd": "/tmp", "stop_hook_active": false });
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.to_string().as_bytes()).await.unwrap();
    drop(pipe);
    child
}

/// Waits (bounded) for the hook to exit: (exit code, stderr).
async fn finished(child: Child) -> (i32, String) {
    let out = tokio::time::timeout(HOOK_EXIT, child.wait_with_output())
        .await
        .expect("the waiting hook exits in time")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Until the daemon has a waiter parked for `name` (bounded).
async fn armed(d: &TestDaemon, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while d.coord().waiters().count() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no waiter armed in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn agent(d: &TestDaemon, name: &str) -> Client {
    // Its credential, as its hooks would hold it (they present it as COORD_CREDENTIAL).
    let credential = test_credential(&d.base, name, None).await;
    let c = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", name),
            ("X-Coord-Credential", credential.as_str()),
        ],
    )
    .await;
    call(&c, "register_session", json!({})).await.ok();
    c
}

async fn send(from: &Client, to: &str, kind: &str, body: &str) {
    call(
        from,
        "send_message_to_session",
        json!({ "to": to, "kind": kind, "message": body }),
    )
    .await
    .ok();
}

async fn unread(c: &Client) -> Vec<String> {
    bodies(
        call(c, "get_session_messages", json!({ "peek": true }))
            .await
            .ok(),
    )
}

fn bodies(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["body"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Runs the ordinary (non-waiting) hook binary off the runtime (the daemon runs on it).
async fn hook_once(base: &str, event: Value, name: &str) -> String {
    let (base, name) = (base.to_string(), name.to_string());
    tokio::task::spawn_blocking(move || {
        let credential = hook_credential(&base, &name).unwrap_or_default();
        crate::hooks::run_hook(
            &base,
            &event.to_string(),
            &[("COORD_SESSION", &name), ("COORD_CREDENTIAL", &credential)],
        )
        .1
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_task_wakes_the_waiting_hook_and_info_waits() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let idle = agent(&d, "wake_idle").await;
    let master = agent(&d, "wake_master").await;
    let hook = waiting_hook(&d.base, "wake_idle", "Stop").await;
    armed(&d, 1).await;
    send(&master, "wake_idle", "info", "just so you know").await;
    send(&master, "wake_idle", "task", "run the migrations").await;
    let (code, stderr) = finished(hook).await;
    assert_eq!(code, 2, "exit 2 wakes the model: {stderr}");
    assert!(stderr.contains("run the migrations"), "{stderr}");
    assert!(stderr.contains("from wake_master"), "{stderr}");
    assert!(
        !stderr.contains("just so you know"),
        "info waits for the next prompt: {stderr}"
    );
    // Delivered once: the task is gone, the info is still unread.
    let left = call(&idle, "get_session_messages", json!({ "peek": true })).await;
    assert_eq!(bodies(left.ok()), ["just so you know"], "{}", left.text);
    assert_eq!(d.coord().waiters().count(), 0, "the waiter is gone");
    let _ = (idle.cancel().await, master.cancel().await);
    d.stop().await;
}

#[tokio::test]
async fn a_childs_final_report_wakes_its_master_and_progress_does_not() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let master = agent(&d, "master_project_wk").await;
    let child = agent(&d, "child_wk_task_1").await;
    let hook = waiting_hook(&d.base, "master_project_wk", "SessionStart").await;
    armed(&d, 1).await;
    call(
        &child,
        "report_session_status",
        json!({ "state": "working", "progress": 50, "summary": "half way" }),
    )
    .await
    .ok();
    call(
        &child,
        "report_session_status",
        json!({ "state": "done", "summary": "PR #7 open" }),
    )
    .await
    .ok();
    let (code, stderr) = finished(hook).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("child_wk_task_1 is done") && stderr.contains("PR #7 open"),
        "{stderr}"
    );
    assert!(!stderr.contains("half way"), "progress waits: {stderr}");
    // wait_for_children answers at once now that the only child is final.
    let all = call(
        &master,
        "wait_for_children",
        json!({ "timeout_seconds": 5 }),
    )
    .await;
    let all = all.ok();
    assert_eq!(all["all_final"], true, "{all}");
    assert_eq!(all["children"][0]["state"], "done", "{all}");
    let _ = (master.cancel().await, child.cancel().await);
    d.stop().await;
}

#[tokio::test]
async fn each_message_is_delivered_once_whichever_path_takes_it() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let idle = agent(&d, "wake_once").await;
    let boss = agent(&d, "wake_boss").await;

    // The prompt context takes it first: the waiting hook is not woken for it.
    send(&boss, "wake_once", "task", "first task").await;
    let prompt = hook_once(
        &d.base,
        json!({ "hook_event_name": "UserPromptSubmit", "session_id": "claude-wake_once",
                "cwd": "/tmp", "prompt": "hi" }),
        "wake_once",
    )
    .await;
    assert!(prompt.contains("first task"), "{prompt}");
    let hook = waiting_hook(&d.base, "wake_once", "Stop").await;
    armed(&d, 1).await;
    // Then a second task wakes it, and only the second is in the wake-up.
    send(&boss, "wake_once", "task", "second task").await;
    let (code, stderr) = finished(hook).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("second task") && !stderr.contains("first task"),
        "{stderr}"
    );
    // Neither comes back through the Stop block or the prompt context.
    let stop = hook_once(
        &d.base,
        json!({ "hook_event_name": "Stop", "session_id": "claude-wake_once", "cwd": "/tmp",
                "stop_hook_active": false }),
        "wake_once",
    )
    .await;
    assert!(!stop.contains("task"), "{stop}");
    assert!(unread(&idle).await.is_empty());
    let _ = (idle.cancel().await, boss.cancel().await);
    d.stop().await;
}

#[tokio::test]
async fn the_newest_waiter_of_a_session_wins_and_the_older_exits_quietly() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let idle = agent(&d, "wake_twice").await;
    let boss = agent(&d, "wake_boss2").await;
    let older = waiting_hook(&d.base, "wake_twice", "SessionStart").await;
    armed(&d, 1).await;
    // Each hook stamps its arming time in ms; make sure the second is later.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer = waiting_hook(&d.base, "wake_twice", "Stop").await;
    let (code, stderr) = finished(older).await;
    assert_eq!(code, 0, "the older waiter leaves quietly: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    armed(&d, 1).await;
    send(&boss, "wake_twice", "question", "is main green?").await;
    let (code, stderr) = finished(newer).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("is main green?"), "{stderr}");
    let _ = (idle.cancel().await, boss.cancel().await);
    d.stop().await;
}

/// Claude runs the waiting SessionStart hook beside the one that registers the session, so
/// it may ask first. It must never take the name (that would replace the credential the
/// registering hook is about to store, and lock the agent's hooks out): it is refused until
/// the session is registered, then proves itself with the stored credential and wakes.
#[tokio::test]
async fn a_waiting_hook_that_asks_before_its_session_exists_never_takes_the_name() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let boss = agent(&d, "early_boss").await;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("wake-trace.log");
    let trace_env = trace.display().to_string();
    let hook = waiting_hook_with(
        &d.base,
        "early_bird",
        "SessionStart",
        &[("MCP_COORD_WAKE_TRACE", &trace_env)],
    )
    .await;
    let deadline = tokio::time::Instant::now() + HOOK_EXIT;
    while !std::fs::read_to_string(&trace)
        .unwrap_or_default()
        .contains("not accepted yet")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the waiting hook was never refused: {:?}",
            std::fs::read_to_string(&trace)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = d.coord().store();
    assert_eq!(
        store.claim_hash("early_bird").await.unwrap(),
        None,
        "no claim taken"
    );
    assert!(store.get_session("early_bird").await.unwrap().is_none());
    // The SessionStart hook registers the session and stores its credential…
    let start = json!({ "hook_event_name": "SessionStart", "session_id": "claude-early_bird",
        "cwd": "/tmp", "source": "startup" });
    hook_once(&d.base, start, "early_bird").await;
    // …which the waiter then presents.
    armed(&d, 1).await;
    send(&boss, "early_bird", "task", "ship the release notes").await;
    let (code, stderr) = finished(hook).await;
    assert_eq!(
        code,
        2,
        "{stderr}\ntrace:\n{:?}",
        std::fs::read_to_string(&trace)
    );
    assert!(stderr.contains("ship the release notes"), "{stderr}");
    // The agent's own hooks still prove the session (its credential was never replaced):
    // the next prompt gets what arrived since.
    send(&boss, "early_bird", "info", "the build is green").await;
    let prompt = json!({ "hook_event_name": "UserPromptSubmit", "session_id": "claude-early_bird",
        "cwd": "/tmp", "prompt": "next" });
    let answer = hook_once(&d.base, prompt, "early_bird").await;
    assert!(answer.contains("the build is green"), "{answer}");
    let _ = boss.cancel().await;
    d.stop().await;
}

#[tokio::test]
async fn with_the_daemon_down_the_hook_waits_quietly_and_wakes_once_it_is_back() {
    let mut daemon = DaemonProcess::start(None, &[]);
    let base = daemon.base();
    // The session's credential was issued before the daemon went down; it is kept in the
    // store, so it still proves the hook and the agent afterwards.
    let credential = test_credential(&base, "wake_restart", None).await;
    daemon.kill9();
    let hook = waiting_hook(&base, "wake_restart", "Stop").await;
    // Down for a while: the hook keeps retrying, says nothing, does not exit.
    tokio::time::sleep(Duration::from_secs(2)).await;
    daemon.restart();
    let idle = connect_http(
        &daemon.mcp_url(),
        &[
            ("X-Coord-Session", "wake_restart"),
            ("X-Coord-Credential", credential.as_str()),
        ],
    )
    .await;
    call(&idle, "register_session", json!({})).await.ok();
    let boss = connect_http(&daemon.mcp_url(), &[("X-Coord-Session", "wake_boss3")]).await;
    // The hook re-arms on its next retry; a task sent before or after that wakes it.
    send(&boss, "wake_restart", "task", "back to work").await;
    let (code, stderr) = finished(hook).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("back to work"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("error"), "{stderr}");
    let _ = (idle.cancel().await, boss.cancel().await);
}

#[tokio::test]
async fn outside_interactive_sessions_the_hook_returns_at_once() {
    let d = TestDaemon::embedded(|_| {}).await;
    let mut cmd = std::process::Command::new(BIN);
    clean_env(&mut cmd);
    let out = cmd
        .args(["--url", &d.base, "hook", "--wait"])
        .env("COORD_SESSION", "wake_print")
        .env("CLAUDE_CODE_ENTRYPOINT", "sdk-cli")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "claude -p must never hang on it"
    );
    assert_eq!(d.coord().waiters().count(), 0);
}

#[tokio::test]
async fn wait_for_children_waits_for_every_final_report() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let master = agent(&d, "master_project_wc").await;
    let none = call(
        &master,
        "wait_for_children",
        json!({ "timeout_seconds": 0 }),
    )
    .await;
    none.err();
    assert!(none.text.contains("no children"), "{}", none.text);
    let one = agent(&d, "child_wc_task_1").await;
    let two = agent(&d, "child_wc_task_2").await;
    let early = call(
        &master,
        "wait_for_children",
        json!({ "timeout_seconds": 0 }),
    )
    .await;
    assert_eq!(early.ok()["all_final"], false);
    assert_eq!(
        early.ok()["pending"],
        json!(["child_wc_task_1", "child_wc_task_2"])
    );
    let waiting = {
        let url = d.mcp_url();
        let credential = hook_credential(&d.base, "master_project_wc").expect("issued");
        tokio::spawn(async move {
            let m = connect_http(
                &url,
                &[
                    ("X-Coord-Session", "master_project_wc"),
                    ("X-Coord-Credential", &credential),
                ],
            )
            .await;
            let r = call(&m, "wait_for_children", json!({ "timeout_seconds": 60 })).await;
            let _ = m.cancel().await;
            r
        })
    };
    call(&one, "report_session_status", json!({ "state": "done" }))
        .await
        .ok();
    call(
        &two,
        "report_session_status",
        json!({ "state": "failed", "summary": "tests red" }),
    )
    .await
    .ok();
    let all = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the wait ends once both are final")
        .unwrap();
    let all = all.ok();
    assert_eq!(all["all_final"], true, "{all}");
    assert_eq!(all["final_count"], 2);
    assert_eq!(all["children"][1]["summary"], "tests red");
    let _ = (
        master.cancel().await,
        one.cancel().await,
        two.cancel().await,
    );
    d.stop().await;
}
