//! Issue 16 Must 1, session claims: naming a live session is not enough to act as it — on
//! both transports, through the CLI and through the hooks — while a free, idle or ended
//! name can still be taken over, and a credential survives a daemon restart.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::binary;
use crate::support::client::{call, claim_session, connect_http, connect_sse, test_credential};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const CLAUDE_ID: &str = "5b0e4c8e-9d55-4f7e-a1d3-0c1d2e3f4a5b";

fn refused_as_impersonation(out: &crate::support::client::ToolOutcome) {
    let e = out.err();
    assert_eq!(e["error"], "unauthorized_session", "{e}");
    assert!(
        out.text.contains("X-Coord-Credential") && out.text.contains("idle"),
        "the refusal says what to send and when a takeover is allowed: {}",
        out.text
    );
}

/// Subscribing to coord://inbox needs the same claim as reading it.
async fn cannot_subscribe_to_its_inbox(intruder: &crate::support::client::Client) {
    #[allow(deprecated)]
    let subscribed = intruder
        .subscribe(rmcp::model::SubscribeRequestParams::new("coord://inbox"))
        .await;
    let err = subscribed.expect_err("subscribing to another session's inbox is refused");
    assert!(err.to_string().contains("X-Coord-Credential"), "{err}");
}

async fn holds(d: &TestDaemon, lock: &str) -> Value {
    let observer = connect_http(&d.mcp_url(), &[]).await;
    let locks = call(&observer, "list_locks", json!({})).await.ok().clone();
    locks["locks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lock"] == format!("resource:{lock}"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn naming_a_live_session_is_not_enough_on_either_transport() {
    let d = TestDaemon::embedded(|_| {}).await;
    // The victim holds pytest over SSE, named by its URL.
    let victim = connect_sse(&format!("{}?session=victim", d.sse_url()), &[]).await;
    call(&victim, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();

    // Streamable HTTP, named by header: not the victim.
    let intruder = connect_http(&d.mcp_url(), &[("X-Coord-Session", "victim")]).await;
    refused_as_impersonation(
        &call(&intruder, "release_lock", json!({ "lock_name": "pytest" })).await,
    );
    refused_as_impersonation(&call(&intruder, "whoami", json!({})).await);
    // Nor hear when the victim's inbox changes.
    cannot_subscribe_to_its_inbox(&intruder).await;
    // With a made-up credential neither.
    let forger = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", "victim"),
            ("X-Coord-Credential", "mcps_0000"),
        ],
    )
    .await;
    let out = call(&forger, "release_lock", json!({ "lock_name": "pytest" })).await;
    refused_as_impersonation(&out);
    assert!(out.text.contains("not its current one"), "{}", out.text);
    // Legacy SSE, named by URL.
    let sse_intruder = connect_sse(&format!("{}?session=victim", d.sse_url()), &[]).await;
    refused_as_impersonation(
        &call(
            &sse_intruder,
            "release_lock",
            json!({ "lock_name": "pytest" }),
        )
        .await,
    );
    // A generated connection cannot register the name either.
    let renamer = connect_http(&d.mcp_url(), &[]).await;
    refused_as_impersonation(
        &call(&renamer, "register_session", json!({ "name": "victim" })).await,
    );
    // Nor through the endpoint the CLI uses.
    let (status, answer) = claim_session(&d.base, "victim", None).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"], "unauthorized_session");

    assert_eq!(
        holds(&d, "pytest").await["holder"],
        "victim",
        "the lock stayed"
    );
    // The victim itself goes on as before.
    call(&victim, "release_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
}

#[tokio::test]
async fn the_credential_proves_the_session_also_after_a_restart() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let credential = test_credential(&d.base, "worker", None).await;
    assert!(credential.starts_with("mcps_"), "{credential}");
    let headers = [
        ("X-Coord-Session", "worker"),
        ("X-Coord-Credential", credential.as_str()),
    ];
    let first = connect_http(&d.mcp_url(), &headers).await;
    call(&first, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    // A second connection of the same session (the credential) is the same session.
    let second = connect_sse(&format!("{}?session=worker", d.sse_url()), &headers[1..]).await;
    let who = call(&second, "whoami", json!({})).await;
    assert_eq!(who.ok()["session"], "worker");
    // The store keeps a hash, never the credential.
    let stored: Option<String> = ::redis::cmd("HGET")
        .arg(format!("{}claims", prefix(&d)))
        .arg("worker")
        .query(&mut redis.conn())
        .unwrap();
    let stored = stored.expect("a claim in the claims hash");
    assert_ne!(stored, credential);
    assert_eq!(stored.len(), 64);

    // The daemon restarts; the agent reconnects with the same credential while its session
    // is still active: it is still that session.
    let settings = d.coord().settings().clone();
    drop((first, second));
    d.stop().await;
    let d = TestDaemon::start(settings).await;
    let back = connect_http(&d.mcp_url(), &headers).await;
    let out = call(&back, "release_lock", json!({ "lock_name": "pytest" })).await;
    assert_eq!(out.ok()["released"], true, "{}", out.text);
    // Without it: refused.
    let intruder = connect_http(&d.mcp_url(), &headers[..1]).await;
    refused_as_impersonation(&call(&intruder, "whoami", json!({})).await);
    // Nor hear when the victim's inbox changes.
    cannot_subscribe_to_its_inbox(&intruder).await;
}

fn prefix(d: &TestDaemon) -> String {
    d.coord().settings().store.key_prefix.clone()
}

#[tokio::test]
async fn an_idle_session_can_be_taken_over_and_the_old_credential_stops_working() {
    let d = TestDaemon::embedded(|s| {
        s.sessions.active_seconds = 1;
        s.sessions.idle_seconds = 2;
    })
    .await;
    let old = test_credential(&d.base, "w1", None).await;
    let owner = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", "w1"),
            ("X-Coord-Credential", old.as_str()),
        ],
    )
    .await;
    call(&owner, "whoami", json!({})).await.ok();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // Idle now: taken over as before claims, with a new credential.
    let (status, answer) = claim_session(&d.base, "w1", None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["how"], "taken_over");
    let new = answer["credential"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let taker = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", "w1"),
            ("X-Coord-Credential", new.as_str()),
        ],
    )
    .await;
    call(&taker, "whoami", json!({})).await.ok();
    // w1 is active again, under its new owner: the old credential proves nothing now.
    let (status, answer) = claim_session(&d.base, "w1", Some(&old)).await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = claim_session(&d.base, "w1", Some(&new)).await;
    assert_eq!((status, answer["how"].clone()), (200, json!("credential")));
}

async fn post_hook(base: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/hooks/claude"))
        .json(body)
        .send()
        .await
        .expect("daemon answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn hook_event(name: &str, claude_id: &str, coord: Value) -> Value {
    json!({
        "hook_event_name": name,
        "session_id": claude_id,
        "cwd": "/tmp",
        "source": "startup",
        "coord": coord,
    })
}

#[tokio::test]
async fn hooks_prove_themselves_and_cannot_hand_a_live_session_to_another_connection() {
    let d = TestDaemon::embedded(|_| {}).await;
    // SessionStart: the credential comes back to the hook command (asked for), not Claude.
    let (status, answer) = post_hook(
        &d.base,
        &hook_event(
            "SessionStart",
            CLAUDE_ID,
            json!({ "session": "agent-a", "want_credential": true }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let credential = answer["coord"]["credential"]
        .as_str()
        .expect("issued")
        .to_string();
    // Its later events present it; without it they are refused while the session is active.
    let (status, _) = post_hook(
        &d.base,
        &hook_event(
            "UserPromptSubmit",
            CLAUDE_ID,
            json!({ "session": "agent-a", "credential": credential }),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = post_hook(
        &d.base,
        &hook_event("SessionEnd", CLAUDE_ID, json!({ "session": "agent-a" })),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"], "unauthorized_session");

    // The agent's own MCP connection: bind_session with its Claude id (the mcp_tool hook).
    let agent = connect_http(&d.mcp_url(), &[]).await;
    let bound = call(&agent, "bind_session", json!({ "session_id": CLAUDE_ID })).await;
    assert_eq!(bound.ok()["session"], "agent-a");
    call(&agent, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    // Another connection naming the same Claude id is refused while the agent's is open.
    let other = connect_http(&d.mcp_url(), &[]).await;
    let out = call(&other, "bind_session", json!({ "session_id": CLAUDE_ID })).await;
    assert_eq!(out.err()["error"], "unauthorized_session", "{}", out.text);

    // A forged hook event for the live session: refused, and it binds nothing (so a
    // bind_session with the forged Claude id gets no name to act as).
    let forged_id = "0f0f0f0f-1111-2222-3333-444455556666";
    let (status, _) = post_hook(
        &d.base,
        &hook_event(
            "UserPromptSubmit",
            forged_id,
            json!({ "session": "agent-a" }),
        ),
    )
    .await;
    assert_eq!(status, 403);
    let forger = connect_http(&d.mcp_url(), &[]).await;
    let out = call(&forger, "bind_session", json!({ "session_id": forged_id })).await;
    assert_ne!(out.ok()["session"], "agent-a", "{}", out.text);
    assert_eq!(holds(&d, "pytest").await["holder"], "agent-a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_cannot_act_as_a_live_session_but_keeps_its_own_credential() {
    let d = TestDaemon::embedded(|_| {}).await;
    let state = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let mut cmd = binary::command(state.path(), &[&["--url", &d.base][..], args].concat());
        cmd.env("XDG_STATE_HOME", state.path())
            .env_remove("COORD_SESSION")
            .env_remove("COORD_CREDENTIAL")
            .env_remove("CLAUDE_CODE_SESSION_ID");
        cmd.output().expect("cli runs")
    };
    let victim = connect_http(&d.mcp_url(), &[("X-Coord-Session", "victim")]).await;
    call(&victim, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    let out = cli(&["--session", "victim", "release", "pytest"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use") && err.contains("X-Coord-Credential"),
        "{err}"
    );
    assert_eq!(holds(&d, "pytest").await["holder"], "victim");

    // Its own session: the first run gets a credential and stores it privately; the second
    // run (the session is active now) proves itself with it.
    let out = cli(&["--session", "mine", "lock", "deploy"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["--session", "mine", "release", "deploy"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = state.path().join("mcp-coord/credentials");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("sessions/mine");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", file.display());
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("mcps_"));
}

/// The `sessionId` of a legacy-SSE connection's POST endpoint acts on that connection, so
/// nothing the daemon shows to others — the audit log, a refusal naming the connection that
/// holds a name, whoami — may contain it; a POST with it from elsewhere would otherwise be
/// the victim, already proven.
#[tokio::test]
async fn an_sse_connections_post_endpoint_id_is_never_shown() {
    use rmcp::ServiceExt;
    let d = TestDaemon::embedded(|_| {}).await;
    let transport = crate::support::sse_client::SseClientTransport::connect_with_headers(
        &format!("{}?session=victim", d.sse_url()),
        http::HeaderMap::new(),
    )
    .await
    .expect("SSE stream opens");
    let post_id = transport
        .endpoint()
        .query_pairs()
        .find(|(k, _)| k == "sessionId")
        .map(|(_, v)| v.to_string())
        .expect("the endpoint carries sessionId");
    let victim = ().serve(transport).await.expect("MCP over /sse");
    call(&victim, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    let own = call(&victim, "whoami", json!({})).await;
    assert!(!own.text.contains(&post_id), "whoami: {}", own.text);

    let other = connect_http(&d.mcp_url(), &[]).await;
    let refused = call(&other, "register_session", json!({ "name": "victim" })).await;
    assert!(refused.is_error, "{}", refused.text);
    assert!(
        !refused.text.contains(&post_id) && !refused.json.to_string().contains(&post_id),
        "the refusal leaks the endpoint id: {}",
        refused.json
    );
    let audit = call(&other, "audit_log", json!({ "session": "victim" })).await;
    let entries = audit.ok().to_string();
    assert!(entries.contains("lock_granted"), "{entries}");
    assert!(
        !entries.contains(&post_id),
        "the audit log leaks the endpoint id: {entries}"
    );
    // And the id still works for its own connection: the victim goes on.
    call(&victim, "release_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
}
