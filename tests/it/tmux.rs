//! Issue 8: tmux orchestration against a real tmux server on a private socket per test.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::client::{Client, ToolOutcome, call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::tmux::TmuxSocket;

/// A daemon (embedded store) whose tmux calls go to `socket`, with short verify times.
pub(crate) async fn daemon(
    socket: &TmuxSocket,
    tweak: impl FnOnce(&mut mcp_coord::config::Settings),
) -> TestDaemon {
    let name = socket.name.clone();
    TestDaemon::embedded(move |s| {
        s.tmux.socket = name;
        s.tmux.send_keys_verify_ms = 1000;
        tweak(s);
    })
    .await
}

pub(crate) async fn as_session(d: &TestDaemon, session: &str) -> Client {
    connect_http(&d.mcp_url(), &[("X-Coord-Session", session)]).await
}

/// A spawned child's own connection: `COORD_SESSION` with the `COORD_CREDENTIAL` that
/// `create_session` put in its tmux environment (what its `.mcp.json` headers send).
pub(crate) async fn as_child(d: &TestDaemon, socket: &TmuxSocket, session: &str) -> Client {
    let env = socket.environment(session);
    let credential = env
        .lines()
        .find_map(|l| l.strip_prefix("COORD_CREDENTIAL="))
        .unwrap_or_else(|| panic!("the child's environment has its credential: {env}"));
    assert!(credential.starts_with("mcps_"), "{credential}");
    connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", session),
            ("X-Coord-Credential", credential),
        ],
    )
    .await
}

/// Polls `get_session_logs` until the output contains `needle` (5 s at most).
async fn logs_until(client: &Client, session: &str, needle: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let logs = call(client, "get_session_logs", json!({ "session": session })).await;
        let json = logs.ok().clone();
        if json["output"].as_str().unwrap_or("").contains(needle) {
            return json;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{needle:?} never showed in {session}: {}",
            json["output"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text(o: &ToolOutcome) -> &str {
    &o.text
}

#[tokio::test]
async fn parent_spawns_types_reads_and_kills_a_child() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_str().unwrap().to_string();
    let master = as_session(&d, "master_project_web").await;

    let created = call(
        &master,
        "create_session",
        json!({
            "project": "web", "task": 1, "working_dir": workdir,
            "command": ["sh", "-c", "pwd; echo ready; read line; echo \"got:$line\"; sleep 30"],
            "env": { "FOO": "bar;" }
        }),
    )
    .await;
    let c = created.ok();
    assert_eq!(c["session"], "child_web_task_1");
    assert_eq!(c["parent"], "master_project_web");
    assert_eq!(c["running"], true);
    assert_eq!(
        c["attach"],
        format!("tmux -L {} attach -t child_web_task_1", socket.name)
    );
    assert_eq!(socket.sessions(), vec!["child_web_task_1"]);
    let env = socket.environment("child_web_task_1");
    for line in [
        "COORD_SESSION=child_web_task_1",
        "MASTER_SESSION_ID=master_project_web",
        "TASK_ID=1",
        "SESSION_ROLE=child",
        "FOO=bar;",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing in {env}");
    }

    let logs = logs_until(&master, "child_web_task_1", "ready").await;
    assert!(
        logs["output"].as_str().unwrap().contains(&workdir),
        "started in working_dir: {}",
        logs["output"]
    );
    assert_eq!(logs["running"], true);

    // Shell metacharacters and a trailing ';' (a tmux command separator) arrive as typed.
    let typed = "hello $(touch PWNED) `touch PWNED2` #{session_name} ;";
    let sent = call(
        &master,
        "send_keys",
        json!({ "session": "child_web_task_1", "text": typed }),
    )
    .await;
    let s = sent.ok();
    assert_eq!(s["confirmed"], true, "{s}");
    assert_eq!(s["enter_presses"], 1, "{s}");
    logs_until(&master, "child_web_task_1", &format!("got:{typed}")).await;
    assert!(!dir.path().join("PWNED").exists());
    assert!(!dir.path().join("PWNED2").exists());

    let listed = d.coord().tmux_sessions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].master.as_deref(), Some("master_project_web"));
    assert_eq!(listed[0].role.as_deref(), Some("child"));

    let killed = call(
        &master,
        "kill_session",
        json!({ "session_id": "child_web_task_1" }),
    )
    .await;
    assert_eq!(killed.ok()["killed"], true);
    assert!(socket.sessions().is_empty());
    let gone = call(
        &master,
        "get_session_logs",
        json!({ "session_id": "child_web_task_1" }),
    )
    .await;
    assert_eq!(gone.err()["error"], "not_found");
    assert!(
        text(&gone).contains(&format!(
            "no tmux session child_web_task_1 on socket {}; list_sessions shows what exists",
            socket.name
        )),
        "{}",
        gone.text
    );
    // Spawning, typing and killing are audited (issue 16), without the typed text.
    let audit = call(
        &master,
        "audit_log",
        json!({ "session": "child_web_task_1" }),
    )
    .await;
    let entries = audit.ok()["entries"].as_array().unwrap().clone();
    for kind in ["session_spawned", "keys_sent", "session_killed"] {
        let e = entries
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} entry in {entries:#?}"));
        assert_eq!(e["session"], "master_project_web", "{e}");
        assert_eq!(e["target"], "child_web_task_1", "{e}");
        assert_eq!(e["outcome"], "ok", "{e}");
    }
    assert!(!serde_json::to_string(&entries).unwrap().contains("PWNED"));
    d.stop().await;
}

#[tokio::test]
async fn only_the_parent_controls_a_child() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "master_project_api").await;
    call(
        &master,
        "create_session",
        json!({ "project": "api", "task": "7", "working_dir": dir.path(),
                "command": "sleep 30" }),
    )
    .await
    .ok();

    let intruder = as_session(&d, "someone-else").await;
    let anonymous = connect_http(&d.mcp_url(), &[]).await;
    for client in [&intruder, &anonymous] {
        for (tool, args) in [
            (
                "send_keys",
                json!({ "session": "child_api_task_7", "text": "rm -rf ~" }),
            ),
            ("get_session_logs", json!({ "session": "child_api_task_7" })),
            ("kill_session", json!({ "session": "child_api_task_7" })),
        ] {
            let refused = call(client, tool, args).await;
            assert_eq!(refused.err()["error"], "forbidden", "{tool}");
            assert_eq!(refused.json["parent"], "master_project_api");
            assert!(
                refused.text.contains("only its parent controls it"),
                "{}",
                refused.text
            );
        }
    }
    assert_eq!(socket.sessions(), vec!["child_api_task_7"], "still there");

    // A session made by hand on our socket has no parent: nobody controls it through us.
    let out = socket.run(&["new-session", "-d", "-s", "by-hand", "--", "sleep", "30"]);
    assert!(out.status.success());
    let refused = call(
        &master,
        "send_keys",
        json!({ "session": "by-hand", "text": "x" }),
    )
    .await;
    assert_eq!(refused.err()["error"], "forbidden");
    assert!(
        refused.text.contains("not spawned by create_session"),
        "{}",
        refused.text
    );
    let listed = d.coord().tmux_sessions().await.unwrap();
    let by_hand = listed.iter().find(|s| s.name == "by-hand").unwrap();
    assert_eq!(by_hand.master, None);

    // Exact names only: tmux would match a prefix without '='.
    let prefix = call(&master, "kill_session", json!({ "session": "child_api" })).await;
    assert_eq!(prefix.err()["error"], "not_found");
    assert_eq!(socket.sessions().len(), 2);
    d.stop().await;
}

#[tokio::test]
async fn temp_session_returns_output_and_exit_code_and_cleans_up() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let client = as_session(&d, "runner").await;

    let run = call(
        &client,
        "spawn_temp_session",
        json!({ "command": ["sh", "-c", "echo hi; exit 3"], "working_dir": dir.path(), "timeout_seconds": 10 }),
    )
    .await;
    let r = run.ok();
    assert_eq!(r["exit_code"], 3, "{r}");
    assert_eq!(r["timed_out"], false);
    assert_eq!(r["output"], "hi");
    assert_eq!(r["cleaned_up"], true);
    assert!(r["session"].as_str().unwrap().starts_with("tmp_runner_"));
    assert!(socket.sessions().is_empty(), "{:?}", socket.sessions());

    // One string is split into words, not given to a shell: `$(touch …)` is a program name.
    let run = call(
        &client,
        "spawn_temp_session",
        json!({ "command": "$(touch PWNED)", "working_dir": dir.path(), "timeout": 10 }),
    )
    .await;
    assert_eq!(run.ok()["exit_code"], 127, "{}", run.text);
    let run = call(
        &client,
        "spawn_temp_session",
        json!({ "command": ["$(touch PWNED);"], "working_dir": dir.path() }),
    )
    .await;
    assert_eq!(run.ok()["exit_code"], 127, "{}", run.text);
    assert!(!dir.path().join("PWNED").exists());

    let run = call(
        &client,
        "spawn_temp_session",
        json!({ "command": "printf 'a b\\nno newline'", "working_dir": dir.path() }),
    )
    .await;
    let r = run.ok();
    assert_eq!(r["output"], "a b\nno newline");
    assert_eq!(r["exit_code"], 0);
    d.stop().await;
}

#[tokio::test]
async fn temp_session_times_out_with_partial_output_and_is_removed() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let client = as_session(&d, "runner").await;
    let run = call(
        &client,
        "spawn_temp_session",
        json!({ "command": ["sh", "-c", "echo started; sleep 30"], "working_dir": dir.path(), "timeout_seconds": 1 }),
    )
    .await;
    let r = run.ok();
    assert_eq!(r["timed_out"], true, "{r}");
    assert_eq!(r["exit_code"], Value::Null);
    assert!(r["output"].as_str().unwrap().contains("started"), "{r}");
    assert_eq!(r["cleaned_up"], true);
    assert!(socket.sessions().is_empty(), "{:?}", socket.sessions());

    let too_long = call(
        &client,
        "spawn_temp_session",
        json!({ "command": "true", "working_dir": dir.path(), "timeout_seconds": 999999 }),
    )
    .await;
    assert!(
        too_long.err()["message"]
            .as_str()
            .unwrap()
            .contains("temp_session_max_seconds")
    );
    d.stop().await;
}

#[tokio::test]
async fn child_limit_and_nested_spawning_are_refused() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |s| s.sessions.max_children = 2).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "master_project_p").await;
    let spawn = |task: &'static str| json!({ "project": "p", "task": task, "working_dir": dir.path(), "command": ["sleep", "30"] });
    call(&master, "create_session", spawn("1")).await.ok();
    call(&master, "create_session", spawn("2")).await.ok();
    let third = call(&master, "create_session", spawn("3")).await;
    assert_eq!(third.err()["error"], "limit");
    assert!(
        third.text.contains("sessions.max_children = 2"),
        "{}",
        third.text
    );
    assert!(third.text.contains("child_p_task_1"), "{}", third.text);
    assert_eq!(socket.sessions().len(), 2);

    let again = call(&master, "create_session", spawn("1")).await;
    assert_eq!(again.err()["error"], "conflict");

    // A spawned child (connected under its COORD_SESSION name) may not spawn.
    let child = as_child(&d, &socket, "child_p_task_1").await;
    let nested = call(
        &child,
        "create_session",
        json!({ "project": "q", "task": "1", "working_dir": dir.path(), "command": ["sleep", "30"] }),
    )
    .await;
    assert_eq!(nested.err()["error"], "limit");
    assert!(
        nested
            .text
            .contains("nested spawning is not allowed (sessions.max_depth = 1)"),
        "{}",
        nested.text
    );
    assert!(
        nested.text.contains("of master_project_p"),
        "{}",
        nested.text
    );

    call(
        &master,
        "kill_session",
        json!({ "session": "child_p_task_2" }),
    )
    .await
    .ok();
    call(&master, "create_session", spawn("3")).await.ok();
    assert_eq!(socket.sessions().len(), 2);
    d.stop().await;
}

#[tokio::test]
async fn exited_child_keeps_its_logs_and_refuses_keys() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "m").await;
    let spawn = json!({ "project": "x", "task": "1", "working_dir": dir.path(),
                        "command": ["sh", "-c", "echo bye; sleep 0.2; exit 4"] });
    call(&master, "create_session", spawn.clone()).await.ok();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let logs = loop {
        let logs = call(
            &master,
            "get_session_logs",
            json!({ "session": "child_x_task_1" }),
        )
        .await;
        if logs.ok()["running"] == false {
            break logs.json;
        }
        assert!(tokio::time::Instant::now() < deadline, "child never exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(logs["exit_status"], 4);
    assert!(logs["output"].as_str().unwrap().contains("bye"), "{logs}");
    let keys = call(
        &master,
        "send_keys",
        json!({ "session": "child_x_task_1", "text": "x" }),
    )
    .await;
    assert_eq!(keys.err()["error"], "conflict");
    assert!(keys.text.contains("has exited (status 4)"), "{}", keys.text);
    let again = call(&master, "create_session", spawn).await;
    assert_eq!(again.ok()["replaced_dead_session"], true);
    d.stop().await;
}

#[tokio::test]
async fn unsubmitted_text_is_reported_honestly() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |s| s.tmux.send_keys_verify_ms = 300).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "m").await;
    // A program that takes keys but shows nothing: Enter cannot be seen to do anything.
    call(
        &master,
        "create_session",
        json!({ "project": "x", "task": "2", "working_dir": dir.path(),
                "command": ["sh", "-c", "stty -echo -icanon; echo ready; sleep 30"] }),
    )
    .await
    .ok();
    logs_until(&master, "child_x_task_2", "ready").await;
    let sent = call(
        &master,
        "send_keys",
        json!({ "session": "child_x_task_2", "text": "hello" }),
    )
    .await;
    let s = sent.ok();
    assert_eq!(s["confirmed"], false, "{s}");
    assert_eq!(s["enter_presses"], 2, "one retry");

    // Vanished session: a clear error.
    socket.run(&["kill-session", "-t", "=child_x_task_2"]);
    let gone = call(
        &master,
        "send_keys",
        json!({ "session": "child_x_task_2", "text": "x" }),
    )
    .await;
    assert_eq!(gone.err()["error"], "not_found");
    assert!(
        gone.text.contains("no tmux session child_x_task_2"),
        "{}",
        gone.text
    );
    d.stop().await;
}

#[tokio::test]
async fn missing_tmux_binary_gives_a_clear_error() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |s| s.tmux.binary = "/nonexistent/tmux".into()).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "m").await;
    for (tool, args) in [
        (
            "create_session",
            json!({ "project": "x", "task": "1", "working_dir": dir.path(), "command": "true" }),
        ),
        (
            "spawn_temp_session",
            json!({ "command": "true", "working_dir": dir.path() }),
        ),
        ("get_session_logs", json!({ "session": "child_x_task_1" })),
    ] {
        let refused = call(&master, tool, args).await;
        assert_eq!(
            refused.err()["error"],
            "tmux_unavailable",
            "{tool}: {}",
            refused.text
        );
        assert!(
            refused.text.contains("tmux is not installed"),
            "{}",
            refused.text
        );
        assert!(
            refused.text.contains("/nonexistent/tmux"),
            "{}",
            refused.text
        );
        assert!(
            refused.text.contains("apt-get install tmux"),
            "{}",
            refused.text
        );
    }
    d.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_starts_nothing() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let wd = dir.path().to_str().unwrap();
    let master = as_session(&d, "m").await;
    let cases = [
        (
            json!({ "project": "a.b", "task": "1", "working_dir": wd }),
            "'.'",
        ),
        (
            json!({ "project": "a_b", "task": "1", "working_dir": wd }),
            "'_'",
        ),
        (
            json!({ "project": "a", "task": "x;rm", "working_dir": wd }),
            "task",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": "relative/dir" }),
            "absolute",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": "/nonexistent/dir" }),
            "existing directory",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": file }),
            "not a directory",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": wd, "env": { "TASK_ID": "9" } }),
            "leave it out",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": wd, "env": { "lower": "x" } }),
            "[A-Z_]",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": wd, "command": "sh -c 'oops" }),
            "quoting",
        ),
        (
            json!({ "project": "a", "task": "1", "working_dir": wd, "command": [] }),
            "empty",
        ),
    ];
    for (args, needle) in cases {
        let refused = call(&master, "create_session", args.clone()).await;
        assert_eq!(refused.err()["error"], "invalid_argument", "{args}");
        assert!(refused.text.contains(needle), "{args}: {}", refused.text);
    }
    let bad_keys = call(
        &master,
        "send_keys",
        json!({ "session": "a b", "text": "x" }),
    )
    .await;
    assert_eq!(bad_keys.err()["error"], "invalid_argument");
    let ctrl = call(
        &master,
        "send_keys",
        json!({ "session": "child_a_task_1", "text": "\u{3}" }),
    )
    .await;
    assert_eq!(ctrl.err()["error"], "invalid_argument");
    let lines = call(
        &master,
        "get_session_logs",
        json!({ "session": "child_a_task_1", "lines": 0 }),
    )
    .await;
    assert_eq!(lines.err()["error"], "invalid_argument");
    assert!(socket.sessions().is_empty(), "nothing was started");
    d.stop().await;
}

#[tokio::test]
async fn keys_reach_an_interactive_shell_and_multiline_text_is_typed_as_lines() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "m").await;
    call(
        &master,
        "create_session",
        json!({ "project": "sh", "task": "1", "working_dir": dir.path(),
                "command": "bash --norc --noprofile -i", "env": { "PS1": "prompt> " } }),
    )
    .await
    .ok();
    logs_until(&master, "child_sh_task_1", "prompt>").await;
    let sent = call(
        &master,
        "send_keys",
        json!({ "session": "child_sh_task_1", "text": "echo $((6*7))" }),
    )
    .await;
    assert_eq!(sent.ok()["confirmed"], true, "{}", sent.text);
    logs_until(&master, "child_sh_task_1", "\n42\n").await;

    // Typed without Enter: it shows on the input line and is not run.
    let typed = call(
        &master,
        "send_keys",
        json!({ "session": "child_sh_task_1", "text": "echo not-yet", "enter": false }),
    )
    .await;
    let t = typed.ok();
    assert_eq!(t["confirmed"], true, "{t}");
    assert_eq!(t["enter_presses"], 0);
    let logs = call(
        &master,
        "get_session_logs",
        json!({ "session": "child_sh_task_1", "lines": 1 }),
    )
    .await;
    assert_eq!(logs.ok()["output"], "prompt> echo not-yet");
    // An empty text with Enter presses Enter: now it runs.
    let enter = call(
        &master,
        "send_keys",
        json!({ "session": "child_sh_task_1", "text": "" }),
    )
    .await;
    assert_eq!(enter.ok()["confirmed"], true, "{}", enter.text);
    logs_until(&master, "child_sh_task_1", "\nnot-yet\n").await;
    d.stop().await;
}

/// create_session registers the child under its parent; the child's own connection binds to
/// that name; kill_session ends it and frees its locks; hand-made tmux sessions are listed as
/// unmanaged.
#[tokio::test]
async fn spawned_children_are_registered_and_killing_one_ends_it_and_frees_its_locks() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "master_project_api").await;
    call(
        &master,
        "create_session",
        json!({"project": "api", "task": 7, "working_dir": dir.path().to_str().unwrap(),
               "command": ["sh", "-c", "sleep 30"]}),
    )
    .await
    .ok();
    let children = call(&master, "get_child_sessions", json!({})).await;
    let list = children.ok()["children"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        list.iter()
            .any(|c| c["name"] == "child_api_task_7" && c["parent"] == "master_project_api"),
        "{}",
        children.text
    );

    // The agent in the pane connects as COORD_SESSION and takes a lock.
    let child = as_child(&d, &socket, "child_api_task_7").await;
    call(&child, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();

    let killed = call(
        &master,
        "kill_session",
        json!({"session": "child_api_task_7"}),
    )
    .await;
    let k = killed.ok();
    assert_eq!(k["ended"], true, "{}", killed.text);
    assert_eq!(k["locks_released"], json!(["resource:pytest"]));
    let other = as_session(&d, "someone").await;
    call(&other, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();

    // A tmux session nobody registered shows up as unmanaged.
    let made = socket.run(&["new-session", "-d", "-s", "by_hand", "sleep", "30"]);
    assert!(made.status.success(), "{made:?}");
    let listed = call(&master, "list_sessions", json!({})).await;
    let unmanaged: Vec<String> = listed.ok()["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        unmanaged.contains(&"by_hand".to_string()),
        "{}",
        listed.text
    );
    // Listings remember each session's environment; a session made again under the same
    // name is a new one, whose environment is read afresh.
    socket.run(&["kill-session", "-t", "=by_hand"]);
    let again = socket.run(&[
        "new-session",
        "-d",
        "-s",
        "by_hand",
        "-e",
        "MASTER_SESSION_ID=master_project_api",
        "sleep",
        "30",
    ]);
    assert!(again.status.success(), "{again:?}");
    let listed = call(&master, "list_sessions", json!({})).await;
    let by_hand = listed.ok()["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "by_hand")
        .cloned();
    assert_eq!(
        by_hand.as_ref().map(|t| t["master"].clone()),
        Some(json!("master_project_api")),
        "{}",
        listed.text
    );
    d.stop().await;
}
