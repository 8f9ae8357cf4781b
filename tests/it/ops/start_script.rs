//! `scripts/start-server.sh`: background start with pid and log files, refusal of a second
//! start, status, stop. Uses the test binary (MCP_COORD_BIN), so no release build runs.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::binary;

fn script(state: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/start-server.sh"
    ));
    binary::clean_env(&mut cmd);
    cmd.args(args)
        .env("MCP_COORD_BIN", binary::BIN)
        .env("MCP_COORD_PID_FILE", state.join("run/coord.pid"))
        .env("MCP_COORD_LOG_FILE", state.join("log/coord.log"))
        .env("MCP_COORD_DATA_DIR", state)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn alive(pid: &str) -> bool {
    Command::new("kill")
        .args(["-0", pid])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn daemon_mode_writes_pid_and_log_refuses_a_second_start_and_stops() {
    let state = tempfile::tempdir().unwrap();
    let started = script(state.path(), &["--daemon", "--port", "0"]);
    assert!(started.status.success(), "{}", text(&started));
    assert!(text(&started).contains("running in the background"));
    let pid = std::fs::read_to_string(state.path().join("run/coord.pid")).unwrap();
    let pid = pid.trim().to_string();
    assert!(alive(&pid), "pid {pid} from the pid file runs");

    let second = script(state.path(), &["--daemon", "--port", "0"]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(text(&second).contains(&format!("already running (pid {pid}")));

    let status = script(state.path(), &["--status"]);
    assert!(status.status.success());
    assert!(text(&status).contains(&format!("running (pid {pid}")));

    let stopped = script(state.path(), &["--stop"]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    assert!(!alive(&pid), "pid {pid} is gone after --stop");
    assert!(!state.path().join("run/coord.pid").exists());
    let log = std::fs::read_to_string(state.path().join("log/coord.log")).unwrap();
    assert!(log.contains("listening on http://127.0.0.1:"), "{log}");
    assert!(
        log.contains("stopped"),
        "graceful shutdown is logged: {log}"
    );
    assert!(!log.contains('\u{1b}'), "no colour codes in a log file");

    let status = script(state.path(), &["--status"]);
    assert_eq!(status.status.code(), Some(3));
}

#[test]
fn daemon_mode_reports_a_start_failure_with_its_log() {
    let state = tempfile::tempdir().unwrap();
    // A bad setting makes the daemon exit at once; the script shows why.
    let out = script(state.path(), &["--daemon", "--log-format", "fancy"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("exited during start"), "{}", text(&out));
    assert!(text(&out).contains("log.format"), "{}", text(&out));
    assert!(!state.path().join("run/coord.pid").exists());
}
