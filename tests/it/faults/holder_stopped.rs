//! A holder SIGSTOPped past its TTL and resumed (issue 14): while it was stopped its lock
//! expired and went to another session; once resumed, its renewal (extend) and its release
//! are refused, the new holder keeps the lock, and the tokens tell the two apart. Both
//! stores.
//!
//! The holder is a real `mcp-coord run --lock shared --ttl 2 -- sleep 6`: only the `run`
//! process is stopped (3.5 s), so its command goes on; resumed, it renews at once (its
//! renewal is overdue) and releases when the command ends — both on a lock that is no
//! longer its own.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::binary;
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

async fn a_resumed_holder_is_fenced_off(d: &TestDaemon) {
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("run.stderr");
    let mut run = binary::command(
        dir.path(),
        &[
            "--url",
            &d.base,
            "--session",
            "sleepy",
            "run",
            "--lock",
            "shared",
            "--ttl",
            "2",
            "--",
            "sleep",
            "6",
        ],
    )
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&stderr).unwrap())
    .spawn()
    .expect("mcp-coord run starts");
    let pid = run.id() as i32;
    let other = connect_http(&d.mcp_url(), &[("X-Coord-Session", "other")]).await;

    let started = Instant::now();
    let (holder, t1) = loop {
        let c = call(&other, "check_lock", json!({ "lock_name": "shared" })).await;
        if let Some(h) = c.ok()["held"]["holder"].as_str() {
            break (h.to_string(), c.ok()["held"]["token"].as_u64().unwrap());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "run never took the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(holder.starts_with("sleepy.run-"), "{holder}");
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let stopped = Instant::now();

    // Its renewals stop; the lock expires by its TTL and is granted to the waiting session.
    let taken = call(
        &other,
        "acquire_lock",
        json!({ "lock_name": "shared", "wait_seconds": 20 }),
    )
    .await;
    let t2 = taken.ok()["token"].as_u64().unwrap();
    assert!(t2 > t1, "tokens tell them apart: {t1} then {t2}");

    // Resume it well past its TTL: it renews at once, then releases when `sleep` ends.
    while stopped.elapsed() < Duration::from_millis(3500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let resumed_after = stopped.elapsed();
    let exit = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = run.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = run.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert!(exit.is_some(), "the resumed run never finished");
    let said = std::fs::read_to_string(&stderr).unwrap();
    assert!(said.contains("lost"), "its renewal must be refused: {said}");
    assert!(
        said.contains("could not release"),
        "its release must be refused: {said}"
    );

    let c = call(&other, "check_lock", json!({ "lock_name": "shared" })).await;
    assert_eq!(c.ok()["held"]["holder"], "other", "{}", c.text);
    assert_eq!(c.ok()["held"]["token"].as_u64(), Some(t2));
    println!(
        "holder {holder} (token {t1}) stopped {:.1} s past its 2 s TTL: the lock went to other \
         (token {t2}); resumed, its extend and release were refused and other kept the lock",
        resumed_after.as_secs_f64()
    );
}

#[tokio::test]
async fn a_stopped_holder_resumed_is_fenced_off_on_the_embedded_store() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    a_resumed_holder_is_fenced_off(&d).await;
    d.stop().await;
}

#[tokio::test]
async fn a_stopped_holder_resumed_is_fenced_off_on_redis() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    a_resumed_holder_is_fenced_off(&d).await;
    d.stop().await;
}
