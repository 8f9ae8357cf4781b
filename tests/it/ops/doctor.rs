//! `mcp-coord doctor`, run as the real binary against a daemon and Redis of the harness.

use std::path::Path;

use crate::support::binary;
use crate::support::daemon::TestDaemon;
use crate::support::redis::{RedisServer, free_port};

/// Runs `doctor` in `dir` (HOME there too, so no real Claude Code config is read) and
/// returns (exit code, stdout).
async fn doctor(dir: &Path, args: &[&str], redis_url: Option<&str>) -> (i32, String) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let mut cmd = binary::command(dir, &all);
    cmd.env("HOME", dir);
    if let Some(url) = redis_url {
        cmd.env("REDIS_URL", url);
    }
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(&format!("{check}:")))
        })
        .unwrap_or_else(|| panic!("no {check} line in:\n{out}"))
}

#[tokio::test]
async fn doctor_passes_against_a_healthy_daemon_over_both_transports() {
    // Healthy includes persistence: without AOF the redis line is a warning (next test).
    let redis = RedisServer::start_persistent();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".mcp.json"),
        format!(
            r#"{{"mcpServers":{{"coordination":{{"type":"sse","url":"{}"}}}}}}"#,
            d.sse_url()
        ),
    )
    .unwrap();
    let (code, out) = doctor(dir.path(), &["--url", &d.base], Some(&redis.url())).await;
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "redis").starts_with("ok "), "{out}");
    assert!(line(&out, "redis").contains("answers"), "{out}");
    assert!(line(&out, "daemon").starts_with("ok "), "{out}");
    assert!(line(&out, "streamable-http").starts_with("ok "), "{out}");
    assert!(line(&out, "legacy-sse").starts_with("ok "), "{out}");
    assert!(line(&out, "claude-config").starts_with("ok "), "{out}");
    assert!(line(&out, "claude-hooks").starts_with("warn"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    d.stop().await;
}

#[tokio::test]
async fn doctor_warns_when_redis_has_no_aof() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    // The daemon's data-loss watcher reads AOF a couple of seconds after the start.
    let started = std::time::Instant::now();
    while d.coord().store().persistence_warning().is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "AOF never read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = doctor(dir.path(), &["--url", &d.base], Some(&redis.url())).await;
    let redis_line = line(&out, "redis");
    assert!(redis_line.starts_with("warn"), "{out}");
    assert!(
        redis_line.contains("no AOF") && redis_line.contains("appendonly yes"),
        "{out}"
    );
    d.stop().await;
}

#[tokio::test]
async fn doctor_reports_a_stopped_redis_clearly() {
    let mut redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    redis.stop();
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = doctor(dir.path(), &["--url", &d.base], Some(&redis.url())).await;
    assert_eq!(code, 1, "{out}");
    let r = line(&out, "redis");
    assert!(r.starts_with("FAIL"), "{out}");
    assert!(r.contains(&format!("127.0.0.1:{}", redis.port())), "{r}");
    assert!(r.contains("does not answer"), "{r}");
    assert!(r.contains("systemctl start redis-server"), "{r}");
    let daemon = line(&out, "daemon");
    assert!(
        daemon.starts_with("FAIL") && daemon.contains("degraded"),
        "{daemon}"
    );
    d.stop().await;
}

#[tokio::test]
async fn doctor_reports_a_wrong_port_clearly_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    let (code, out) = doctor(dir.path(), &["--url", &url], None).await;
    assert_eq!(code, 1, "{out}");
    let daemon = line(&out, "daemon");
    assert!(daemon.starts_with("FAIL"), "{out}");
    assert!(
        daemon.contains(&url) && daemon.contains("connection refused"),
        "{daemon}"
    );
    // The transport checks are skipped rather than failing a second and third time.
    assert!(!out.contains("streamable-http:"), "{out}");
    // Embedded store: nothing to check in Redis.
    assert!(line(&out, "redis").starts_with("ok "), "{out}");

    let (code, json) = doctor(dir.path(), &["--url", &url, "--json"], None).await;
    assert_eq!(code, 1);
    let checks: serde_json::Value = serde_json::from_str(&json).unwrap();
    let daemon = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "daemon")
        .unwrap();
    assert_eq!(daemon["level"], "fail");
}

#[tokio::test]
async fn doctor_recognises_a_port_held_by_another_program() {
    // An HTTP server that is not mcp-coord.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/health", axum::routing::get(|| async { "hello" }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = doctor(dir.path(), &["--url", &format!("http://{addr}")], None).await;
    assert_eq!(code, 1, "{out}");
    let daemon = line(&out, "daemon");
    assert!(daemon.contains("is not mcp-coord"), "{daemon}");
    assert!(
        daemon.contains(&format!("sport = :{}", addr.port())),
        "{daemon}"
    );
    server.abort();
}
