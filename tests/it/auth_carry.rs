//! Issue 16 Must 2, last sentence: tokens are carried where they are needed. Against a daemon
//! with `[auth] required = true`, the real binary sends its token on every request — the
//! CLI (`MCP_COORD_TOKEN`, `--token-file`) through `/session/claim` and `/mcp`, the hook
//! command through `/hooks/claude` — and fails with the daemon's 401 sentence without one;
//! `mcp-config --auth` and `hooks install --hook-token-file` write configuration that carries
//! it without writing the token itself.

use std::path::Path;
use std::process::Output;

use mcp_coord::service::tokens::CreateTokenArgs;

use crate::hooks::{fixture, run_hook};
use crate::support::binary;
use crate::support::daemon::TestDaemon;

async fn agent_token(d: &TestDaemon) -> String {
    d.coord()
        .create_token(CreateTokenArgs {
            role: "agent".into(),
            ..Default::default()
        })
        .await
        .expect("token created")
        .token
}

fn cli(dir: &Path, base: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = binary::command(dir, &[&["--url", base][..], args].concat());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("cli runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_hook_command_send_the_token() {
    let d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let token = agent_token(&d).await;
    let dir = tempfile::tempdir().unwrap();

    // No token: the daemon's sentence, exit 1, nothing held.
    let out = cli(
        dir.path(),
        &d.base,
        &[],
        &["--session", "carry-a", "lock", "carried"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("requires a token"),
        "{}",
        text(&out.stderr)
    );

    // MCP_COORD_TOKEN: claim, connect and call all carry it.
    let env = [("MCP_COORD_TOKEN", token.as_str())];
    let out = cli(
        dir.path(),
        &d.base,
        &env,
        &["--session", "carry-a", "lock", "carried"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A token file (first line), the same.
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let file_arg = file.display().to_string();
    let out = cli(
        dir.path(),
        &d.base,
        &[],
        &[
            "--token-file",
            &file_arg,
            "--session",
            "carry-a",
            "--json",
            "locks",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("carried"),
        "{}",
        text(&out.stdout)
    );
    let out = cli(
        dir.path(),
        &d.base,
        &[],
        &["--token-file", "/nonexistent/token", "locks"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the token file"));

    // The hook command: without a token the daemon answers 401 and the hook prints nothing
    // (it never breaks the agent); with MCP_COORD_TOKEN it registers the session.
    let start = fixture("SessionStart").to_string();
    let (code, silent) = run_hook(&d.base, &start, &[]);
    assert_eq!((code, silent.trim()), (0, ""));
    let (code, answer) = run_hook(&d.base, &start, &[("MCP_COORD_TOKEN", &token)]);
    assert_eq!(code, 0);
    assert!(answer.contains("you are session"), "{answer}");
}

#[test]
fn mcp_config_and_hooks_install_carry_the_token_without_writing_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = "http://127.0.0.1:1";
    for transport in ["http", "sse"] {
        let out = cli(
            dir.path(),
            base,
            &[],
            &["mcp-config", "--transport", transport, "--auth"],
        );
        let printed = text(&out.stdout);
        assert!(
            printed.contains(r#""Authorization": "Bearer ${MCP_COORD_TOKEN:-}""#)
                && printed.contains("--header 'Authorization: Bearer ${MCP_COORD_TOKEN:-}'"),
            "{printed}"
        );
    }
    // A token in the environment implies it, and is never printed.
    let out = cli(
        dir.path(),
        base,
        &[("MCP_COORD_TOKEN", "mcpc_secret_value")],
        &["mcp-config"],
    );
    let printed = text(&out.stdout);
    assert!(
        printed.contains("${MCP_COORD_TOKEN:-}") && !printed.contains("mcpc_secret_value"),
        "{printed}"
    );
    let out = cli(dir.path(), base, &[], &["mcp-config"]);
    assert!(!text(&out.stdout).contains("Authorization"));

    let out = cli(
        dir.path(),
        base,
        &[],
        &[
            "hooks",
            "install",
            "--project",
            &dir.path().display().to_string(),
            "--hook-token-file",
            "/home/a/coord token",
            "--dry-run",
        ],
    );
    let printed = text(&out.stdout);
    assert!(
        printed.contains("--token-file '/home/a/coord token' hook"),
        "{printed}"
    );
}
