//! Issue 16: on a daemon that requires tokens, a child spawned by `create_session` gets a
//! token of its own in its environment (`MCP_COORD_TOKEN`): role agent, limited to its own
//! session name, so it can connect and act as itself and as nobody else; ending the child
//! revokes it. Real tmux (SKIPPED without it), real MCP clients over Streamable HTTP.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;

fn with_auth(s: &mut mcp_coord::config::Settings) {
    s.auth.required = true;
}

/// Waits (bounded) until the child has written `file`, and returns its text.
fn read_when_written(file: &Path) -> String {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && text.ends_with('\n')
        {
            return text.trim_end().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the child never wrote {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The HTTP status of an MCP `initialize` sent with `bearer`.
async fn initialize_status(d: &TestDaemon, session: &str, bearer: &str) -> u16 {
    reqwest::Client::new()
        .post(d.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .header("X-Coord-Session", session)
        .header("Authorization", bearer)
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "child-token-test", "version": "1"}}
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_spawned_child_gets_its_own_token_limited_to_its_name_and_revoked_when_it_ends() {
    if !crate::support::tmux::installed_or_skip("a_spawned_child_gets_its_own_token") {
        return;
    }
    let socket = crate::support::tmux::TmuxSocket::new();
    let mut d = crate::tmux::daemon(&socket, with_auth).await;
    let master_token = d
        .coord()
        .create_token(mcp_coord::service::tokens::CreateTokenArgs {
            role: "agent".into(),
            sessions: None,
            label: Some("the master".into()),
        })
        .await
        .unwrap()
        .token;
    let master = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", "master_project_web"),
            ("Authorization", &format!("Bearer {master_token}")),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env");
    let script = format!(
        "printf '%s %s\\n' \"$MCP_COORD_TOKEN\" \"$COORD_CREDENTIAL\" > '{}'; sleep 60",
        out.display()
    );
    let created = call(
        &master,
        "create_session",
        json!({
            "project": "web", "task": 7, "working_dir": dir.path().to_str().unwrap(),
            "command": ["sh", "-c", script]
        }),
    )
    .await;
    assert_eq!(
        created.ok()["session"],
        "child_web_task_7",
        "{}",
        created.text
    );
    // A master may not hand the child a token of its choosing.
    let refused = call(
        &master,
        "create_session",
        json!({
            "project": "web", "task": 8, "working_dir": dir.path().to_str().unwrap(),
            "command": ["true"], "env": {"MCP_COORD_TOKEN": master_token}
        }),
    )
    .await;
    assert!(
        refused.err()["message"]
            .as_str()
            .unwrap()
            .contains("MCP_COORD_TOKEN"),
        "{}",
        refused.text
    );

    let env = read_when_written(&out);
    let (token, credential) = env.split_once(' ').expect("token and credential");
    assert!(
        token.starts_with("mcp"),
        "a token in MCP_COORD_TOKEN: {env:?}"
    );
    assert_ne!(token, master_token);
    let bearer = format!("Bearer {token}");

    // The child connects with it, as itself.
    let child = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", "child_web_task_7"),
            ("X-Coord-Credential", credential),
            ("Authorization", &bearer),
        ],
    )
    .await;
    let me = call(&child, "whoami", json!({})).await;
    assert_eq!(me.ok()["session"], "child_web_task_7", "{}", me.text);
    let lock = call(&child, "acquire_lock", json!({ "lock_name": "pytest" })).await;
    assert_eq!(lock.ok()["granted"], true, "{}", lock.text);

    // It cannot act as its master (or anyone else) with it.
    let other = connect_http(
        &d.mcp_url(),
        &[
            ("X-Coord-Session", "master_project_web"),
            ("Authorization", &bearer),
        ],
    )
    .await;
    let as_master = call(&other, "whoami", json!({})).await;
    assert!(as_master.is_error, "{}", as_master.text);
    assert!(
        as_master.text.contains("child_web_task_7"),
        "the refusal names what the token may act as: {}",
        as_master.text
    );

    // The master kills the child: the child's session ends and its token opens nothing.
    assert_eq!(
        initialize_status(&d, "child_web_task_7", &bearer).await,
        200
    );
    let killed = call(
        &master,
        "kill_session",
        json!({ "session": "child_web_task_7" }),
    )
    .await;
    assert_eq!(killed.ok()["killed"], true, "{}", killed.text);
    assert_eq!(
        initialize_status(&d, "child_web_task_7", &bearer).await,
        401
    );
    let left = d.coord().list_tokens().await.unwrap();
    assert!(
        left.tokens
            .iter()
            .all(|t| t.label.as_deref() != Some("create_session child child_web_task_7")),
        "{left:?}"
    );
    d.stop().await;
}
