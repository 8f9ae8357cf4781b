//! A client SIGKILLed while it waits in a lock's queue must never be granted the lock: its
//! answer could not reach anybody, and the lock would be lost until its TTL.
//!
//! The dead waiter is a real separate process (this test binary, run as
//! [`waiter_process`]), killed with SIGKILL while queued, on each transport and each store.
//! A live waiter queued behind it must get the lock as soon as the holder releases it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::try_call;
use crate::support::client::{Client, call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const CALL_BOUND: Duration = Duration::from_secs(15);
const ENV_BASE: &str = "MCP_COORD_TEST_WAITER_BASE";
const ENV_TRANSPORT: &str = "MCP_COORD_TEST_WAITER_TRANSPORT";
const ENV_SESSION: &str = "MCP_COORD_TEST_WAITER_SESSION";
const ENV_LOCK: &str = "MCP_COORD_TEST_WAITER_LOCK";

/// The waiter process: connects as `ENV_SESSION` over `ENV_TRANSPORT` and queues for
/// `ENV_LOCK` until killed. Not a test by itself (it fails when run without its parent).
#[tokio::test]
#[ignore = "started (and SIGKILLed) as a child process by the killed-waiter tests"]
async fn waiter_process() {
    let base = std::env::var(ENV_BASE).expect("started by faults::killed_waiter tests");
    let session = std::env::var(ENV_SESSION).expect("session name");
    let lock = std::env::var(ENV_LOCK).expect("lock name");
    let client = match std::env::var(ENV_TRANSPORT).as_deref() {
        Ok("sse") => connect_sse(&format!("{base}/sse?session={session}"), &[]).await,
        _ => connect_http(&format!("{base}/mcp"), &[("X-Coord-Session", &session)]).await,
    };
    let answer = call(
        &client,
        "acquire_lock",
        json!({ "lock_name": lock, "wait_seconds": 60, "timeout_seconds": 120 }),
    )
    .await;
    // Only a grant gets here before the kill; hold on to it like a real client would.
    println!("waiter_process: {}", answer.text);
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// Starts [`waiter_process`] as a child process of its own.
fn spawn_waiter(base: &str, transport: &str, session: &str, lock: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "faults::killed_waiter::waiter_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_BASE, base)
        .env(ENV_TRANSPORT, transport)
        .env(ENV_SESSION, session)
        .env(ENV_LOCK, lock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("waiter process starts")
}

async fn check(client: &Client, lock: &str) -> serde_json::Value {
    try_call(
        client,
        "check_lock",
        json!({ "lock_name": lock }),
        CALL_BOUND,
    )
    .await
    .expect("check_lock answers")
    .ok()
    .clone()
}

/// Waits (bounded) until the lock has `n` waiters.
async fn until_waiters(client: &Client, lock: &str, n: u64, what: &str) -> Duration {
    let started = Instant::now();
    for _ in 0..400 {
        if check(client, lock).await["waiters"] == n {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what}: {lock} never had {n} waiters: {}",
        check(client, lock).await
    );
}

type LiveAnswer = (
    Result<crate::support::client::ToolOutcome, String>,
    Instant,
    Client,
);

/// Queues a live waiter behind the dead one; returns its pending acquire (and the client).
fn queue_live_waiter(client: Client, lock: &str) -> tokio::task::JoinHandle<LiveAnswer> {
    let lock = lock.to_string();
    tokio::spawn(async move {
        let answer = try_call(
            &client,
            "acquire_lock",
            json!({ "lock_name": lock, "wait_seconds": 30, "timeout_seconds": 60 }),
            Duration::from_secs(45),
        )
        .await;
        (answer, Instant::now(), client)
    })
}

/// One dead waiter on `transport`, two ways: it leaves the queue by itself (no release in
/// between), and the holder releases right after the kill.
async fn a_killed_waiter_is_never_granted(d: &TestDaemon, transport: &str, store: &str) {
    let lock = format!("killed-waiter-{transport}");
    let holder = connect_http(&d.mcp_url(), &[("X-Coord-Session", "holder")]).await;
    for (n, round) in ["leaves by itself", "release right after the kill"]
        .into_iter()
        .enumerate()
    {
        // Names of their own each round: the last round's sessions are still active, and
        // a live session is not taken over by a new connection (issue 16).
        let dead = format!("dead-waiter-{transport}-{n}");
        let live_name = format!("live-waiter-{n}");
        let granted = call(
            &holder,
            "acquire_lock",
            json!({ "lock_name": lock, "timeout_seconds": 60 }),
        )
        .await;
        granted.ok();
        let mut child = spawn_waiter(&d.base, transport, &dead, &lock);
        until_waiters(&holder, &lock, 1, "the waiter process queued").await;
        let live = connect_http(&d.mcp_url(), &[("X-Coord-Session", live_name.as_str())]).await;
        let pending = queue_live_waiter(live, &lock);
        until_waiters(&holder, &lock, 2, "the live waiter queued").await;

        child.kill().expect("SIGKILL the waiter");
        child.wait().expect("reap the waiter");
        let killed = Instant::now();
        if round == "leaves by itself" {
            let left = until_waiters(&holder, &lock, 1, "the dead waiter leaves").await;
            println!(
                "killed_waiter [{store}, {transport}]: the SIGKILLed waiter left the queue {left:?} after the kill"
            );
        }
        let released = Instant::now();
        call(&holder, "release_lock", json!({ "lock_name": lock }))
            .await
            .ok();
        let (answer, at, live) = tokio::time::timeout(Duration::from_secs(60), pending)
            .await
            .expect("the live waiter answers")
            .expect("live waiter task");
        let answer = answer.expect("the live waiter's call answers");
        assert!(
            !answer.is_error,
            "[{store}, {transport}, {round}] the live waiter behind a killed one gets the lock: {}",
            answer.text
        );
        println!(
            "killed_waiter [{store}, {transport}, {round}]: live waiter granted {:?} after the release ({:?} after the kill)",
            at - released,
            at - killed
        );
        let now = check(&holder, &lock).await;
        assert_eq!(now["held"]["holder"], live_name.as_str(), "{now}");
        call(&live, "release_lock", json!({ "lock_name": lock }))
            .await
            .ok();
        // The dead session holds nothing, now or later.
        let theirs = try_call(&holder, "list_locks", json!({}), CALL_BOUND)
            .await
            .unwrap();
        assert!(
            !theirs.text.contains(&dead),
            "the killed waiter holds nothing: {}",
            theirs.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sse_waiter_killed_while_queued() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    a_killed_waiter_is_never_granted(&d, "sse", "redis").await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_http_waiter_killed_while_queued() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    a_killed_waiter_is_never_granted(&d, "http", "redis").await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_sse_waiter_killed_while_queued() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    a_killed_waiter_is_never_granted(&d, "sse", "embedded").await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_http_waiter_killed_while_queued() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    a_killed_waiter_is_never_granted(&d, "http", "embedded").await;
    d.stop().await;
}
