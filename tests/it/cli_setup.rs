//! Issue 6: `hooks install` (merge into settings.json without clobbering, idempotent,
//! backup, uninstall removes only ours), `mcp-config`, and the CLI's unreachable path.

use std::process::Command;

use mcp_coord::cli::hooks_install::{Outcome, install, our_hooks};
use serde_json::{Value, json};

use crate::hooks::BIN;

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn backups(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".bak-")
        })
        .count()
}

#[test]
fn install_into_missing_file_then_rerun_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".claude/settings.json");
    let ours = our_hooks("/opt/bin/mcp-coord", None, "coordination");
    assert!(matches!(
        install(&path, &ours, false, false).unwrap(),
        Outcome::Written { backup: None }
    ));
    let s = read(&path);
    assert_eq!(
        s["hooks"]["SessionStart"][0]["hooks"][0]["command"],
        "/opt/bin/mcp-coord hook"
    );
    let ups = &s["hooks"]["UserPromptSubmit"][0]["hooks"];
    assert_eq!(
        ups[1],
        json!({"type":"mcp_tool","server":"coordination","tool":"bind_session","input":{"session_id":"${session_id}"}})
    );
    let before = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        install(&path, &ours, false, false).unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert_eq!(backups(path.parent().unwrap()), 0);
}

#[test]
fn install_keeps_other_hooks_and_keys_and_uninstall_removes_only_ours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    let original = json!({
        "permissions": { "allow": ["Bash(ls:*)"] },
        "model": "opus",
        "hooks": {
            "PostToolUse": [{ "matcher": "Edit", "hooks": [{ "type": "command", "command": "prettier --write" }] }],
            "PreToolUse": [{ "matcher": "Bash", "hooks": [{ "type": "command", "command": "guard.sh" }] }]
        }
    });
    std::fs::write(&path, serde_json::to_string_pretty(&original).unwrap()).unwrap();
    let ours = our_hooks("/opt/bin/mcp-coord", None, "coordination");
    let Outcome::Written {
        backup: Some(backup),
    } = install(&path, &ours, false, false).unwrap()
    else {
        panic!("expected a write with a backup");
    };
    assert_eq!(read(&backup), original, "backup is the file as it was");
    let s = read(&path);
    assert_eq!(s["permissions"], original["permissions"]);
    assert_eq!(s["model"], "opus");
    assert_eq!(s["hooks"]["PreToolUse"], original["hooks"]["PreToolUse"]);
    let post = s["hooks"]["PostToolUse"].as_array().unwrap();
    assert_eq!(
        post[0], original["hooks"]["PostToolUse"][0],
        "others' group stays first"
    );
    assert_eq!(post[1]["hooks"][0]["command"], "/opt/bin/mcp-coord hook");
    // Key order kept: the file still starts with permissions.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .trim_start()
            .starts_with("{\n  \"permissions\"")
    );

    // Idempotent.
    assert_eq!(
        install(&path, &ours, false, false).unwrap(),
        Outcome::Unchanged
    );
    // The binary moved: ours are replaced, not duplicated.
    let moved = our_hooks("/usr/local/bin/mcp-coord", None, "coordination");
    install(&path, &moved, false, false).unwrap();
    let s = read(&path);
    let post = s["hooks"]["PostToolUse"].as_array().unwrap();
    assert_eq!(post.len(), 2, "{post:?}");
    assert_eq!(
        post[1]["hooks"][0]["command"],
        "/usr/local/bin/mcp-coord hook"
    );

    // Uninstall: back to exactly the original.
    install(&path, &moved, true, false).unwrap();
    assert_eq!(read(&path), original);
    assert_eq!(
        install(&path, &moved, true, false).unwrap(),
        Outcome::Unchanged
    );
}

#[test]
fn install_refuses_a_broken_file_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    std::fs::write(&path, "{ not json").unwrap();
    let ours = our_hooks("/opt/bin/mcp-coord", None, "coordination");
    let err = install(&path, &ours, false, false).unwrap_err();
    assert!(err.contains("not valid JSON"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");

    std::fs::write(&path, "{}").unwrap();
    let Outcome::DryRun(text) = install(&path, &ours, false, true).unwrap() else {
        panic!()
    };
    assert!(text.contains("bind_session"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
}

#[test]
fn hooks_install_binary_uses_its_own_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["hooks", "install", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = read(&dir.path().join(".claude/settings.json"));
    let cmd = s["hooks"]["Stop"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cmd.starts_with('/') && cmd.ends_with("mcp-coord hook"),
        "{cmd}"
    );
    let again = Command::new(BIN)
        .args(["hooks", "install", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing changed"));
}

#[test]
fn mcp_config_prints_add_line_and_snippet() {
    let out = Command::new(BIN)
        .args([
            "--url",
            "http://127.0.0.1:9999",
            "mcp-config",
            "--transport",
            "http",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("claude mcp add coordination --scope project --transport http http://127.0.0.1:9999/mcp --header 'X-Coord-Session: ${COORD_SESSION:-}'"), "{text}");
    assert!(
        text.contains("\"X-Coord-Session\": \"${COORD_SESSION:-}\""),
        "{text}"
    );
    let out = Command::new(BIN)
        .args(["mcp-config"])
        .env_remove("MCP_COORD_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--transport sse 'http://127.0.0.1:8082/sse?session=${COORD_SESSION:-}'"),
        "{text}"
    );
}

#[test]
fn client_commands_say_daemon_unreachable_with_exit_3() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for args in [
        vec!["status"],
        vec!["lock", "pytest"],
        vec!["run", "--lock", "x", "--", "true"],
    ] {
        let out = Command::new(BIN)
            .arg("--url")
            .arg(format!("http://{closed}"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&format!(
                "mcp-coord daemon not reachable at http://{closed}"
            )) && err.contains("mcp-coord serve"),
            "{err}"
        );
    }
    let usage = Command::new(BIN).args(["lock"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
