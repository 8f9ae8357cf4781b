//! Issue 16, the audit log: a real daemon (on each store) and real MCP clients on both
//! transports do the things that are audited; `audit_log` (the tool) and `mcp-coord audit`
//! (the CLI) show an entry for each, with who did it — and never a message body, a status
//! summary or a lock reason. `audit.file` gets the same entries as JSON lines.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::binary::BIN;
use crate::support::client::{Client, call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const BODY: &str = "SECRET-BODY-do-not-log";
const SUMMARY: &str = "SECRET-SUMMARY-do-not-log";
const REASON: &str = "SECRET-REASON-do-not-log";

async fn audit(c: &Client, args: Value) -> Vec<Value> {
    call(c, "audit_log", args).await.ok()["entries"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn find<'a>(entries: &'a [Value], kind: &str, session: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["kind"] == kind && e["session"] == session)
        .unwrap_or_else(|| panic!("no {kind} entry for {session} in {entries:#?}"))
}

/// Everything the scenario does, then what the log says about it.
async fn every_kind_is_audited_with_who_and_no_secrets(d: &TestDaemon, file: &std::path::Path) {
    let alice = connect_http(&d.mcp_url(), &[("X-Coord-Session", "alice")]).await;
    let bob = connect_sse(&format!("{}?session=bob", d.sse_url()), &[]).await;

    call(
        &alice,
        "register_session",
        json!({ "name": "alice", "role": "agent" }),
    )
    .await
    .ok();
    call(
        &alice,
        "acquire_lock",
        json!({ "lock_name": "pytest", "reason": REASON }),
    )
    .await
    .ok();
    call(&bob, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .err();
    call(&bob, "release_lock", json!({ "lock_name": "pytest" }))
        .await
        .err();
    call(
        &alice,
        "send_message_to_session",
        json!({ "session_id": "bob", "message": BODY, "kind": "question" }),
    )
    .await
    .ok();
    call(
        &alice,
        "report_session_status",
        json!({ "state": "working", "summary": SUMMARY }),
    )
    .await
    .ok();
    call(&alice, "extend_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    call(&alice, "release_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    call(&bob, "end_session", json!({})).await.ok();

    let all = audit(&alice, json!({ "since": "10m" })).await;
    let seen = kinds(&all);
    for k in [
        "session_registered",
        "lock_granted",
        "lock_refused",
        "release_refused",
        "message_sent",
        "status_reported",
        "lock_extended",
        "lock_released",
        "session_ended",
    ] {
        assert!(seen.contains(&k.to_string()), "{k} missing from {seen:?}");
    }

    let granted = find(&all, "lock_granted", "alice");
    assert_eq!(granted["lock"], "resource:pytest");
    assert_eq!(granted["outcome"], "ok");
    assert_eq!(granted["by"]["session"], "alice");
    assert_eq!(granted["by"]["transport"], "streamable-http");
    assert!(
        granted["by"]["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "the peer address is recorded: {granted}"
    );
    let refused = find(&all, "lock_refused", "bob");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["target"], "alice", "who holds it");
    assert_eq!(refused["detail"], "held");
    assert_eq!(refused["by"]["transport"], "sse");
    let not_owner = find(&all, "release_refused", "bob");
    assert_eq!(not_owner["detail"], "not_owner");
    let sent = find(&all, "message_sent", "alice");
    assert_eq!(sent["target"], "bob");
    assert_eq!(sent["detail"], "question");
    assert_eq!(find(&all, "status_reported", "alice")["detail"], "working");
    assert_eq!(find(&all, "session_ended", "bob")["by"]["session"], "bob");

    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains("SECRET"),
        "no body, summary or reason in the log: {text}"
    );

    // Filters: one session (as subject or other party), one kind.
    let of_bob = audit(&alice, json!({ "since": "10m", "session": "bob" })).await;
    assert!(!of_bob.is_empty());
    for e in &of_bob {
        let names = [&e["session"], &e["target"], &e["by"]["session"]];
        assert!(names.iter().any(|n| *n == "bob"), "not about bob: {e}");
    }
    let only = audit(&alice, json!({ "kind": "lock_refused" })).await;
    assert_eq!(kinds(&only), ["lock_refused"]);

    // A bad duration is refused and says what to write.
    let bad = call(&alice, "audit_log", json!({ "since": "yesterday" })).await;
    assert!(bad.err()["message"].as_str().unwrap().contains("1h"));

    // The CLI shows the same entries (a thin client of the same call).
    let out = Command::new(BIN)
        .args([
            "--url",
            &d.base,
            "audit",
            "--since",
            "1h",
            "--session",
            "bob",
        ])
        .args(["--kind", "lock_refused", "--json"])
        .env_remove("COORD_SESSION")
        .env_remove("MCP_COORD_URL")
        .output()
        .expect("mcp-coord audit runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kinds(cli["entries"].as_array().unwrap()), ["lock_refused"]);
    let out = Command::new(BIN)
        .args([
            "--url",
            &d.base,
            "audit",
            "--since",
            "1h",
            "--session",
            "alice",
        ])
        .env_remove("COORD_SESSION")
        .env_remove("MCP_COORD_URL")
        .output()
        .expect("mcp-coord audit runs");
    let lines = String::from_utf8_lossy(&out.stdout);
    println!("{lines}");
    assert!(lines.contains("lock_granted") && lines.contains("lock=resource:pytest"));
    assert!(!lines.contains("SECRET"));

    // The JSON-lines file has the same entries (the writer has caught up: audit_log waited).
    let jsonl = std::fs::read_to_string(file).expect("audit.file written");
    assert!(jsonl.lines().count() >= all.len());
    for line in jsonl.lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON entry per line");
        assert!(v["kind"].is_string());
    }
    assert!(jsonl.contains("\"lock_refused\"") && !jsonl.contains("SECRET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_on_redis() {
    let redis = RedisServer::start();
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_path_buf();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        s.audit.file = path.display().to_string();
    })
    .await;
    every_kind_is_audited_with_who_and_no_secrets(&d, &path).await;
    d.stop().await;
    // redis-cli sees the stream the README names.
    let mut c = redis.conn();
    let len: i64 = ::redis::cmd("XLEN")
        .arg("claude:audit")
        .query(&mut c)
        .unwrap();
    assert!(len >= 9, "claude:audit holds the entries ({len})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_on_embedded() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_path_buf();
    let mut d = TestDaemon::embedded(|s| {
        s.audit.file = path.display().to_string();
    })
    .await;
    every_kind_is_audited_with_who_and_no_secrets(&d, &path).await;
    d.stop().await;
}

/// Entries recorded by the reaper (no caller) have no `by`: the daemon did it.
#[tokio::test]
async fn the_reaper_acts_as_nobody() {
    let mut d = TestDaemon::embedded(|s| {
        s.sessions.active_seconds = 1;
        s.sessions.idle_seconds = 2;
        s.sessions.stale_seconds = 3;
        s.sessions.reaper_interval_seconds = 1;
    })
    .await;
    let ghost = connect_http(&d.mcp_url(), &[("X-Coord-Session", "ghost")]).await;
    call(&ghost, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    let _ = ghost.cancel().await;
    let watcher = connect_http(&d.mcp_url(), &[("X-Coord-Session", "watcher")]).await;
    let mut ended = None;
    for _ in 0..100 {
        let e = audit(
            &watcher,
            json!({ "session": "ghost", "kind": "session_ended" }),
        )
        .await;
        if let Some(first) = e.into_iter().next() {
            ended = Some(first);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ended = ended.expect("the reaper ended ghost within 10 s");
    assert!(ended.get("by").is_none(), "no caller: {ended}");
    d.stop().await;
}

/// Refusals for auth (issue 16 Must 6): a request without a token or with a wrong one (401),
/// a call outside the token's role; and tokens created and revoked — each an entry with who,
/// never the secret; a client retrying its 401 in a loop is one entry per 10 s, not one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_refusals_and_token_changes_are_audited() {
    use mcp_coord::service::tokens::{CreateTokenArgs, RevokeTokenArgs};
    let mut d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let token = |role: &str| CreateTokenArgs {
        role: role.into(),
        sessions: None,
        label: None,
    };
    let admin = d.coord().create_token(token("admin")).await.unwrap();
    let observer = d.coord().create_token(token("observer")).await.unwrap();

    let http = reqwest::Client::new();
    for _ in 0..10 {
        let r = http
            .post(d.mcp_url())
            .header("x-coord-session", "intruder")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = http
        .post(d.mcp_url())
        .bearer_auth("mcpc_not-a-token")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let reader = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {}", observer.token)),
            ("X-Coord-Session", "reader"),
        ],
    )
    .await;
    let out = call(&reader, "acquire_lock", json!({ "lock_name": "pytest" })).await;
    assert_eq!(out.err()["error"], "forbidden", "{}", out.text);
    d.coord()
        .revoke_token(RevokeTokenArgs {
            id: observer.id.clone(),
        })
        .await
        .unwrap();

    let auditor = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {}", admin.token)),
            ("X-Coord-Session", "auditor"),
        ],
    )
    .await;
    let refused = audit(&auditor, json!({ "kind": "auth_refused" })).await;
    let detail = |e: &Value| e["detail"].as_str().unwrap_or_default().to_string();
    let no_token: Vec<_> = refused
        .iter()
        .filter(|e| detail(e) == "no_token /mcp")
        .collect();
    assert_eq!(
        no_token.len(),
        1,
        "ten 401s in a row, one entry: {refused:#?}"
    );
    assert_eq!(no_token[0]["session"], "intruder");
    assert_eq!(no_token[0]["outcome"], "refused");
    assert!(no_token[0]["by"]["peer"].as_str().is_some(), "{refused:#?}");
    assert!(
        refused.iter().any(|e| detail(e) == "bad_token /mcp"),
        "{refused:#?}"
    );
    let forbidden = refused
        .iter()
        .find(|e| detail(e) == "forbidden acquire_lock")
        .unwrap_or_else(|| panic!("{refused:#?}"));
    assert_eq!(forbidden["session"], "reader");
    assert_eq!(forbidden["by"]["token"], observer.id.as_str());

    let created = audit(&auditor, json!({ "kind": "token_created" })).await;
    assert!(
        created
            .iter()
            .any(|e| e["target"] == observer.id.as_str() && e["detail"] == "observer"),
        "{created:#?}"
    );
    let revoked = audit(&auditor, json!({ "kind": "token_revoked" })).await;
    assert_eq!(revoked.len(), 1, "{revoked:#?}");
    assert_eq!(revoked[0]["target"], observer.id.as_str());
    let all = call(&auditor, "audit_log", json!({})).await.text;
    assert!(
        !all.contains(&observer.token) && !all.contains(&admin.token) && !all.contains("mcpc_not"),
        "no secret, not even a wrong one, is in the log"
    );
    d.stop().await;
}
