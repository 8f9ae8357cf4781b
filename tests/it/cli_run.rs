//! Issue 6: CLI commands against a running daemon (private Redis), spawned as the real
//! binary with `--url`: `lock`/`release`, `run --lock` exclusion, release on SIGTERM, and
//! the TTL freeing the lock of a SIGKILLed holder. Multi-threaded runtimes: the tests block
//! on the child processes while the in-process daemon must keep serving.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::hooks::BIN;
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

fn cli(base: &str) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--url")
        .arg(base)
        .env_remove("COORD_SESSION")
        .env_remove("MCP_COORD_URL");
    c
}

async fn holder(d: &TestDaemon, lock: &str) -> Option<String> {
    let c = connect_http(&d.mcp_url(), &[]).await;
    let v = call(&c, "check_lock", json!({ "lock_name": lock }))
        .await
        .ok()
        .clone();
    let _ = c.cancel().await;
    v.get("held")
        .and_then(|h| h.get("holder"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Polls (bounded) until `f` is true; the bound is generous, nothing asserts a timing.
async fn eventually(mut f: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..200 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_release_and_json_as_the_cli_session() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let base = d.base.clone();
    let out = cli(&base)
        .args([
            "--session",
            "w-cli",
            "--json",
            "lock",
            "pytest",
            "--ttl",
            "30",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let granted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(granted["lock"], "resource:pytest");
    assert_eq!(holder(&d, "pytest").await.as_deref(), Some("w-cli"));
    // Another session is refused (exit 1) with the holder named.
    let other = cli(&base)
        .args(["--session", "w-other", "lock", "pytest"])
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("w-cli"));
    let rel = cli(&base)
        .args(["--session", "w-other", "release", "pytest"])
        .output()
        .unwrap();
    assert_eq!(rel.status.code(), Some(1), "only the holder releases");
    let rel = cli(&base)
        .args(["--session", "w-cli", "release", "pytest"])
        .output()
        .unwrap();
    assert!(rel.status.success());
    assert_eq!(holder(&d, "pytest").await, None);
    // status and locks read fine.
    let st = cli(&base).args(["status"]).output().unwrap();
    assert!(st.status.success() && String::from_utf8_lossy(&st.stdout).contains("Locks"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_lock_excludes_a_second_run_and_exits_with_the_command_status() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let base = d.base.clone();
    let mut first = cli(&base)
        .args(["run", "--lock", "suite", "--ttl", "30", "--", "sleep", "30"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(async || holder(&d, "suite").await.is_some()).await);
    // Same shell, same COORD_SESSION: still excluded (each run is its own session).
    let second = cli(&base)
        .args(["run", "--lock", "suite", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // SIGTERM: forwarded to sleep, lock released, exit 128+15.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(143));
    assert_eq!(holder(&d, "suite").await, None, "released on SIGTERM");

    // The command's own status passes through; the lock is free afterwards.
    let third = cli(&base)
        .args(["run", "--lock", "suite", "-q", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(7));
    assert_eq!(holder(&d, "suite").await, None);
    let missing = cli(&base)
        .args(["run", "--lock", "suite", "-q", "--", "/nonexistent/cmd"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(127));
    assert_eq!(holder(&d, "suite").await, None);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_lock_waits_for_the_holder_then_runs() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let base = d.base.clone();
    let first = cli(&base)
        .args(["run", "--lock", "w", "-q", "--", "sleep", "1"])
        .spawn()
        .unwrap();
    assert!(eventually(async || holder(&d, "w").await.is_some()).await);
    let b = base.clone();
    let second = tokio::task::spawn_blocking(move || {
        cli(&b)
            .args(["run", "--lock", "w", "--wait", "20", "-q", "--", "true"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let _ = tokio::task::spawn_blocking(move || {
        let mut f = first;
        f.wait()
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_holder_frees_the_lock_by_ttl() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let base = d.base.clone();
    let mut holder_proc = cli(&base)
        .args([
            "run", "--lock", "k", "--ttl", "2", "-q", "--", "sleep", "60",
        ])
        .spawn()
        .unwrap();
    assert!(eventually(async || holder(&d, "k").await.is_some()).await);
    holder_proc.kill().unwrap(); // SIGKILL: nothing can release
    let _ = holder_proc.wait();
    assert!(
        holder(&d, "k").await.is_some(),
        "still held right after the kill"
    );
    assert!(
        eventually(async || holder(&d, "k").await.is_none()).await,
        "freed by its TTL"
    );
    d.stop().await;
}

/// `status` names the daemon and its store, then the session tree with its locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_store_the_tree_and_the_locks() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let master = connect_http(&d.mcp_url(), &[("X-Coord-Session", "master_project_web")]).await;
    let child = connect_http(&d.mcp_url(), &[("X-Coord-Session", "child_web_task_2")]).await;
    call(&child, "register_session", json!({})).await.ok();
    call(&master, "acquire_lock", json!({"lock_name": "pr-create"}))
        .await
        .ok();
    let base = d.base.clone();
    let out = tokio::task::spawn_blocking(move || cli(&base).arg("status").output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("store embedded (reachable"), "{text}");
    assert!(text.contains("master_project_web"), "{text}");
    assert!(text.contains("child_web_task_2"), "{text}");
    assert!(text.contains("resource:pr-create"), "{text}");
    d.stop().await;
}
