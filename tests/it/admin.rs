//! Issue 16 item 4, the admin tools, on a real daemon with `auth.required = true` and real
//! MCP clients holding bearer tokens: an admin force-releases a lock (the holder is told in
//! its inbox and by its next release, a waiter is granted only once the lock-delay has run
//! out, the audit log names the admin's token), ends any session, peeks into any inbox; an
//! agent token is refused every admin tool with the role it needs and does not see them in
//! tools/list. The CLI's `mcp-coord admin …` is the same call.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::binary;
use crate::support::client::{Client, call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const ADMIN_TOOLS: [&str; 5] = [
    "admin_release_lock",
    "admin_end_session",
    "admin_read_inbox",
    "admin_kill_session",
    "resume_grants",
];

fn with_auth(s: &mut mcp_coord::config::Settings) {
    s.auth.required = true;
    s.locks.lock_delay_seconds = 1;
}

async fn token(d: &TestDaemon, role: &str) -> String {
    let created = d
        .coord()
        .create_token(mcp_coord::service::tokens::CreateTokenArgs {
            role: role.into(),
            sessions: None,
            label: Some(format!("{role} for the admin tests")),
        })
        .await
        .unwrap();
    format!("Bearer {}", created.token)
}

async fn connect(d: &TestDaemon, session: &str, bearer: &str) -> Client {
    connect_http(
        &d.mcp_url(),
        &[("X-Coord-Session", session), ("Authorization", bearer)],
    )
    .await
}

/// Polls `check_lock` (bounded) until `pred` holds.
async fn until_lock(c: &Client, lock: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let seen = call(c, "check_lock", json!({ "lock_name": lock })).await;
        if pred(seen.ok()) {
            return seen.json;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never reached: {}",
            seen.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn force_release_with_lock_delay(mut d: TestDaemon) {
    let agent = token(&d, "agent").await;
    let admin_bearer = d.admin_bearer();
    let holder = connect(&d, "holder", &agent).await;
    let waiter = connect(&d, "waiter", &agent).await;
    let admin = connect(&d, "boss", &admin_bearer).await;
    let held = call(&holder, "acquire_lock", json!({ "lock_name": "pytest" })).await;
    let old_token = held.ok()["token"].as_u64().unwrap();

    let queued = tokio::spawn(async move {
        let got = call(
            &waiter,
            "acquire_lock",
            json!({ "lock_name": "pytest", "wait_seconds": 30 }),
        )
        .await;
        (waiter, got)
    });
    until_lock(&admin, "pytest", |l| l["waiters"] == 1).await;

    let forced = call(
        &admin,
        "admin_release_lock",
        json!({ "lock_name": "pytest", "reason": "stuck test run" }),
    )
    .await;
    let f = forced.ok();
    assert_eq!(f["released"], true, "{}", forced.text);
    assert_eq!(f["holder"], "holder");
    assert_eq!(f["token"], old_token);
    assert_eq!(f["holder_told"], true);
    let delay_until = f["lock_delay_until"].as_i64().expect("a lock-delay");

    // The waiter is granted, but only once the delay has run out (store clock).
    let (waiter, got) = tokio::time::timeout(Duration::from_secs(30), queued)
        .await
        .expect("the waiter is served")
        .unwrap();
    assert_eq!(got.ok()["granted"], true, "{}", got.text);
    assert!(got.ok()["token"].as_u64().unwrap() > old_token);
    let now = call(&waiter, "check_lock", json!({ "lock_name": "pytest" })).await;
    let acquired_at = now.ok()["held"]["acquired_at"].as_i64().unwrap();
    assert!(
        acquired_at >= delay_until,
        "granted at {acquired_at}, before the lock-delay ended at {delay_until}"
    );

    // The holder was told: in its inbox, and by its next release.
    let inbox = call(&holder, "get_session_messages", json!({})).await;
    let notice = inbox.ok()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["system"] == true && m["body"].as_str().unwrap().contains("force-released"))
        .unwrap_or_else(|| panic!("no notice in {}", inbox.text))
        .clone();
    assert_eq!(notice["kind"], "info");
    let body = notice["body"].as_str().unwrap();
    assert!(
        body.contains("admin boss") && body.contains("stuck test run"),
        "{body}"
    );
    // (The waiter holds it now: the release is refused, and says what happened.)
    let release = call(&holder, "release_lock", json!({ "lock_name": "pytest" })).await;
    assert_eq!(release.err()["error"], "not_owner");
    assert!(
        release.text.contains("force-released by admin boss"),
        "{}",
        release.text
    );

    // Audited with the admin's token as `by`; the reason text is not kept.
    let audit = call(&admin, "audit_log", json!({ "kind": "admin_release_lock" })).await;
    let entries = audit.ok()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{}", audit.text);
    let e = &entries[0];
    assert_eq!(e["outcome"], "ok");
    assert_eq!(e["session"], "boss");
    assert_eq!(e["target"], "holder");
    assert_eq!(e["lock"], "resource:pytest");
    assert_eq!(e["by"]["token"], "bootstrap");
    assert!(!audit.text.contains("stuck test run"));

    // Nothing held: said so, nothing changes.
    let again = call(
        &admin,
        "admin_release_lock",
        json!({ "lock_name": "issue:7" }),
    )
    .await;
    assert_eq!(again.ok()["released"], false);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_force_release_on_the_embedded_store() {
    force_release_with_lock_delay(TestDaemon::embedded(with_auth).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_force_release_on_redis() {
    let redis = RedisServer::start();
    force_release_with_lock_delay(TestDaemon::on_redis(&redis, with_auth).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_neither_see_nor_call_admin_tools() {
    let mut d = TestDaemon::embedded(with_auth).await;
    let agent = connect(&d, "w1", &token(&d, "agent").await).await;
    let observer = connect(&d, "eye", &token(&d, "observer").await).await;
    let admin = connect(&d, "boss", &d.admin_bearer()).await;
    for (who, client) in [("agent", &agent), ("observer", &observer)] {
        let names: Vec<String> = client
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        for tool in ADMIN_TOOLS {
            assert!(!names.contains(&tool.to_string()), "{who} sees {tool}");
        }
        for tool in ADMIN_TOOLS {
            let refused = call(client, tool, json!({ "session": "w2", "lock_name": "x" })).await;
            let e = refused.err();
            assert_eq!(e["error"], "forbidden", "{tool}: {}", refused.text);
            assert_eq!(e["needs_role"], "admin", "{tool}: {}", refused.text);
            assert!(
                refused.text.contains("needs role admin"),
                "{}",
                refused.text
            );
        }
    }
    // The observer may read the audit log (metadata only); the agent too.
    call(&observer, "audit_log", json!({})).await.ok();
    let names: Vec<String> = admin
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    for tool in ADMIN_TOOLS {
        assert!(names.contains(&tool.to_string()), "admin misses {tool}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_ends_any_session_and_peeks_into_any_inbox() {
    let mut d = TestDaemon::embedded(with_auth).await;
    let agent = token(&d, "agent").await;
    let victim = connect(&d, "victim", &agent).await;
    let other = connect(&d, "other", &agent).await;
    let admin = connect(&d, "boss", &d.admin_bearer()).await;
    call(&victim, "register_session", json!({ "name": "victim" }))
        .await
        .ok();
    call(&victim, "acquire_lock", json!({ "lock_name": "deploy" }))
        .await
        .ok();
    call(
        &other,
        "send_message_to_session",
        json!({ "to": "victim", "message": "please look at the deploy", "kind": "question" }),
    )
    .await
    .ok();

    // Peek: the admin sees the message, the victim still gets it afterwards.
    let peeked = call(&admin, "admin_read_inbox", json!({ "session": "victim" })).await;
    assert_eq!(peeked.ok()["peek"], true);
    assert_eq!(peeked.ok()["session"], "victim");
    assert_eq!(peeked.ok()["count"], 1, "{}", peeked.text);
    assert_eq!(peeked.ok()["messages"][0]["from"], "other");
    let unknown = call(
        &admin,
        "admin_read_inbox",
        json!({ "session": "nobody_here" }),
    )
    .await;
    assert_eq!(unknown.err()["error"], "not_found", "{}", unknown.text);

    // The CLI: the same call with the daemon's admin token, from a shell.
    let data_dir = d.coord().settings().store.data_dir.clone();
    let cli = |args: &[&str]| {
        let mut cmd = binary::command(
            std::path::Path::new(&data_dir),
            &[&["--url", &d.base][..], args].concat(),
        );
        cmd.env("MCP_COORD_DATA_DIR", &data_dir);
        cmd.output().expect("cli runs")
    };
    let out = cli(&["admin", "inbox", "victim"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("please look at the deploy"), "{text}");

    let mine = call(&victim, "get_session_messages", json!({})).await;
    assert_eq!(
        mine.ok()["count"],
        1,
        "the peek marked nothing read: {}",
        mine.text
    );

    // End it from the CLI: its lock is released with a lock-delay, the session is ended.
    let out = cli(&[
        "--json",
        "admin",
        "end-session",
        "victim",
        "--reason",
        "runaway",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ended: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ended["ended"], true, "{ended}");
    assert_eq!(ended["locks_released"], json!(["resource:deploy"]));
    assert!(ended["lock_delay_until"].is_i64(), "{ended}");
    assert_eq!(ended["session_told"], true);
    let refused = call(&other, "acquire_lock", json!({ "lock_name": "deploy" })).await;
    assert_eq!(refused.err()["error"], "lock_delay", "{}", refused.text);
    assert!(
        refused.text.contains("force-released by an admin"),
        "{}",
        refused.text
    );
    let status = call(&admin, "get_session_status", json!({ "session": "victim" })).await;
    assert!(status.text.contains("ended"), "{}", status.text);
    let again = call(&admin, "admin_end_session", json!({ "session": "victim" })).await;
    assert_eq!(again.ok()["ended"], false);

    let audit = call(&admin, "audit_log", json!({ "since": "1h" })).await;
    let entries = audit.ok()["entries"].as_array().unwrap().clone();
    for kind in ["admin_read_inbox", "admin_end_session"] {
        assert!(
            entries.iter().any(|e| e["kind"] == kind
                && e["target"] == "victim"
                && e["by"]["token"] == "bootstrap"),
            "no {kind} entry: {}",
            audit.text
        );
    }
    assert!(!audit.text.contains("runaway") && !audit.text.contains("please look"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_kills_a_child_it_is_not_the_parent_of() {
    if !crate::support::tmux::installed_or_skip("admin_kills_a_child_it_is_not_the_parent_of") {
        return;
    }
    let socket = crate::support::tmux::TmuxSocket::new();
    let mut d = crate::tmux::daemon(&socket, with_auth).await;
    let master = connect(&d, "master_project_web", &token(&d, "agent").await).await;
    let dir = tempfile::tempdir().unwrap();
    let created = call(
        &master,
        "create_session",
        json!({
            "project": "web", "task": 4, "working_dir": dir.path().to_str().unwrap(),
            "command": ["sh", "-c", "sleep 60"]
        }),
    )
    .await;
    assert_eq!(
        created.ok()["session"],
        "child_web_task_4",
        "{}",
        created.text
    );
    assert_eq!(socket.sessions(), vec!["child_web_task_4"]);

    let admin = connect(&d, "boss", &d.admin_bearer()).await;
    let killed = call(
        &admin,
        "admin_kill_session",
        json!({ "session": "child_web_task_4" }),
    )
    .await;
    assert_eq!(killed.ok()["killed"], true, "{}", killed.text);
    assert_eq!(killed.ok()["was_running"], true);
    assert!(socket.sessions().is_empty(), "{:?}", socket.sessions());
    let missing = call(
        &admin,
        "admin_kill_session",
        json!({ "session": "child_web_task_4" }),
    )
    .await;
    assert!(missing.is_error, "{}", missing.text);

    let audit = call(&admin, "audit_log", json!({ "kind": "admin_kill_session" })).await;
    let outcomes: Vec<&str> = audit.ok()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["ok", "refused"], "{}", audit.text);
    d.stop().await;
}

/// An admin token limited to session patterns acts on those sessions only: it ends and
/// reads the inboxes of `child_web_*`, is refused others (naming its patterns, changing
/// nothing), and may not force-release locks at all (whose lock it is is only known inside
/// the atomic release).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_token_limited_to_patterns_acts_on_those_sessions_only() {
    let mut d = TestDaemon::embedded(with_auth).await;
    let agent = token(&d, "agent").await;
    let limited = d
        .coord()
        .create_token(mcp_coord::service::tokens::CreateTokenArgs {
            role: "admin".into(),
            sessions: Some(vec!["child_web_*".into()]),
            label: Some("web admin".into()),
        })
        .await
        .unwrap();
    let limited = format!("Bearer {}", limited.token);
    let web = connect(&d, "child_web_1", &agent).await;
    let api = connect(&d, "child_api_1", &agent).await;
    for (c, name) in [(&web, "child_web_1"), (&api, "child_api_1")] {
        call(c, "register_session", json!({ "name": name }))
            .await
            .ok();
        call(
            c,
            "acquire_lock",
            json!({ "lock_name": format!("{name}-lock") }),
        )
        .await
        .ok();
    }
    let admin = connect(&d, "child_web_boss", &limited).await;

    for tool in [
        "admin_read_inbox",
        "admin_end_session",
        "admin_kill_session",
    ] {
        let refused = call(&admin, tool, json!({ "session": "child_api_1" })).await;
        assert_eq!(
            refused.err()["error"],
            "forbidden",
            "{tool}: {}",
            refused.text
        );
        assert!(
            refused.text.contains("child_web_*"),
            "{tool}: {}",
            refused.text
        );
    }
    let forced = call(
        &admin,
        "admin_release_lock",
        json!({ "lock_name": "child_web_1-lock" }),
    )
    .await;
    assert_eq!(forced.err()["error"], "forbidden", "{}", forced.text);
    assert!(forced.text.contains("admin_end_session"), "{}", forced.text);
    // Nothing changed for the session outside its patterns, nor for the lock.
    let api_lock = call(
        &api,
        "check_lock",
        json!({ "lock_name": "child_api_1-lock" }),
    )
    .await;
    assert_eq!(
        api_lock.ok()["held"]["holder"],
        "child_api_1",
        "{}",
        api_lock.text
    );
    let web_lock = call(
        &web,
        "check_lock",
        json!({ "lock_name": "child_web_1-lock" }),
    )
    .await;
    assert_eq!(
        web_lock.ok()["held"]["holder"],
        "child_web_1",
        "{}",
        web_lock.text
    );

    // Its own patterns: allowed.
    let peeked = call(
        &admin,
        "admin_read_inbox",
        json!({ "session": "child_web_1" }),
    )
    .await;
    assert_eq!(peeked.ok()["session"], "child_web_1", "{}", peeked.text);
    let ended = call(
        &admin,
        "admin_end_session",
        json!({ "session": "child_web_1" }),
    )
    .await;
    assert_eq!(ended.ok()["ended"], true, "{}", ended.text);
    assert!(
        d.coord()
            .store()
            .get_session("child_api_1")
            .await
            .unwrap()
            .is_some_and(|e| e.live),
        "the other session is still live"
    );
    d.stop().await;
}
