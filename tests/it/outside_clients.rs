//! Outside MCP clients against the daemon: the Python `mcp` SDK and Claude Code itself.
//!
//! Each runs when its client is installed (scripts/test.sh installs the Python SDK; Claude
//! Code is optional) and otherwise prints why it was skipped.

use std::process::Command;

use crate::support::daemon::TestDaemon;

fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[tokio::test]
async fn python_sdk_lists_and_calls_tools_on_both_transports() {
    if !available("python3", &["-c", "import mcp"]) {
        eprintln!("SKIP: the Python `mcp` package is not installed (pip install mcp)");
        return;
    }
    let mut d = TestDaemon::embedded(|_| {}).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python_sdk.py");
    let base = d.base.clone();
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&base)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sse: ok"), "{stdout}");
    assert!(stdout.contains("streamable-http: ok"), "{stdout}");
    d.stop().await;
}

#[tokio::test]
async fn claude_code_connects_on_both_transports() {
    if !available("claude", &["--version"]) {
        eprintln!("SKIP: Claude Code is not installed (npm install -g @anthropic-ai/claude-code)");
        return;
    }
    let mut d = TestDaemon::embedded(|_| {}).await;
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let claude = |args: &[&str]| {
        let mut c = tokio::process::Command::new("claude");
        c.args(args)
            .env("HOME", home.path())
            .current_dir(project.path());
        c
    };
    let sse = format!("{}/sse", d.base);
    let http = format!("{}/mcp", d.base);
    for (name, transport, url) in [("coordination", "sse", &sse), ("coord-http", "http", &http)] {
        let out = claude(&["mcp", "add", name, "--transport", transport, url])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        claude(&["mcp", "list"]).output(),
    )
    .await
    .expect("claude mcp list finishes")
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["coordination", "coord-http"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {text}"));
        assert!(line.contains("Connected"), "{line}\n{text}");
    }
    d.stop().await;
}
