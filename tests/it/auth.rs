//! Issue 16 Musts 2-3: with `[auth] required = true` every route but /health needs a bearer
//! token (401 saying what to send); tokens created by the CLI with the bootstrap admin token;
//! roles filter tools/list and refuse calls naming the role needed; session patterns.

use serde_json::{Value, json};

use crate::support::binary;
use crate::support::client::{call, connect_http, try_connect_http};
use crate::support::daemon::TestDaemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_every_route_behind_auth() {
    let d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/sse"),
        ("POST", "/message?sessionId=x"),
        ("POST", "/mcp"),
        ("GET", "/events"),
        ("POST", "/hooks/claude"),
        ("POST", "/session/claim"),
        ("GET", "/metrics"),
        ("GET", "/dashboard/state"),
        ("GET", "/dashboard/tasks?project=web"),
        ("POST", "/hooks/claude/wait"),
        ("POST", "/hooks/claude/claim"),
    ] {
        let url = format!("{}{path}", d.base);
        for bad in [None, Some("Bearer mcpc_wrong")] {
            let mut r = http.request(method.parse().unwrap(), &url);
            if let Some(b) = bad {
                r = r.header("Authorization", b);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} {bad:?}");
            let body: Value = r.json().await.unwrap();
            assert!(
                body["message"].as_str().unwrap().contains("token"),
                "{body}"
            );
        }
    }
    assert_eq!(
        http.get(format!("{}/health", d.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The CLI creates tokens with the daemon's bootstrap admin token (its state dir).
    let data_dir = d.coord().settings().store.data_dir.clone();
    let cli = |args: &[&str]| {
        let mut cmd = binary::command(
            std::path::Path::new(&data_dir),
            &[&["--url", &d.base][..], args].concat(),
        );
        cmd.env("MCP_COORD_DATA_DIR", &data_dir);
        cmd.output().expect("cli runs")
    };
    let out = cli(&["token", "create", "--role", "observer"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let observer = String::from_utf8(out.stdout).unwrap();
    let observer = observer.trim();
    assert!(
        observer.starts_with("mcpc_") && !observer.contains('\n'),
        "{observer}"
    );
    // The same with only a config file naming the data dir (`store.data_dir`), as a
    // daemon configured that way has it: the CLI reads the machine's settings too.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(elsewhere.path().join("config")).unwrap();
    std::fs::write(
        elsewhere.path().join("config/default.toml"),
        format!("[store]\ndata_dir = {data_dir:?}\n"),
    )
    .unwrap();
    let out = binary::command(
        elsewhere.path(),
        &["--url", &d.base, "token", "create", "--role", "observer"],
    )
    .output()
    .expect("cli runs");
    assert!(
        out.status.success(),
        "the admin token is found through store.data_dir: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = binary::command(
        tempfile::tempdir().unwrap().path(),
        &["--url", &d.base, "token", "list"],
    )
    .output()
    .expect("cli runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no admin token") && err.contains("tried"),
        "without one it says where it looked: {err}"
    );
    let out = cli(&[
        "token",
        "create",
        "--role",
        "agent",
        "--sessions",
        "child_web_*",
    ]);
    let agent = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // Observer: only read-only tools listed; a write names the role it needs.
    let bearer = format!("Bearer {observer}");
    let o = connect_http(&d.mcp_url(), &[("Authorization", &bearer)]).await;
    let tools = o.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(
        names.contains(&"list_locks") && !names.contains(&"acquire_lock"),
        "{names:?}"
    );
    assert!(!names.contains(&"token_create"));
    let refused = call(&o, "acquire_lock", json!({ "lock_name": "pytest" })).await;
    assert!(
        refused.text.contains("needs role agent"),
        "{}",
        refused.text
    );
    call(&o, "list_locks", json!({})).await.ok();

    // Agent limited to child_web_*: its sessions yes, others no.
    let bearer = format!("Bearer {agent}");
    let mine = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &bearer),
            ("X-Coord-Session", "child_web_task_1"),
        ],
    )
    .await;
    call(&mine, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    let other = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", &bearer),
            ("X-Coord-Session", "master_project_api"),
        ],
    )
    .await;
    let out = call(&other, "whoami", json!({})).await;
    assert!(out.text.contains("child_web_*"), "{}", out.text);

    // List shows ids, never secrets; revoke makes the token 401.
    let out = cli(&["token", "list"]);
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(
        list.contains("observer") && !list.contains(observer),
        "{list}"
    );
    let id = list
        .lines()
        .find(|l| l.contains("observer"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(cli(&["token", "revoke", &id]).status.success());
    assert!(
        try_connect_http(
            &d.mcp_url(),
            &[("Authorization", &format!("Bearer {observer}"))]
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn a_non_loopback_bind_needs_auth() {
    let mut s = crate::support::daemon::test_settings();
    s.server.host = "0.0.0.0".into();
    let e = s.validate().unwrap_err().to_string();
    assert!(e.contains("[auth] required"), "{e}");
    s.auth.required = true;
    s.validate()
        .expect("with auth a non-loopback bind is allowed");
}
