//! Lock service right after a daemon crash (issue 12, item 4): the queue entries of the
//! clients that were waiting when the daemon was SIGKILLed must not block the lock's FIFO
//! once it answers again. Before the fix nobody but the old holder got the lock until those
//! entries expired (the waiter TTL, 3 s after the crash); now the restarted daemon knows
//! they belonged to a dead daemon and skips them at once. Both stores.
//!
//! The waiters are real client processes (`mcp-coord lock … --wait`), SIGKILLed with the
//! daemon so that nobody renews their entries. The figure printed is the time from "the
//! daemon answers /health again" to the first grant to a session that did not hold the
//! lock. The assertion is not about time: the newcomer asks without waiting, right after the
//! holder released, which a queue still blocked by the dead entries refuses (a restart too
//! slow for the entries to be still there proves nothing, and the round is repeated).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::try_call;
use crate::support::binary;
use crate::support::client::Client;
use crate::support::process::DaemonProcess;
use crate::support::redis::RedisServer;

const LOCK: &str = "crash-queue";
const WAITERS: usize = 4;
const CALL_WITHIN: Duration = Duration::from_secs(15);
/// `service::locks::WAITER_TTL_MS`: how long a waiter entry lives without being renewed.
const WAITER_TTL: Duration = Duration::from_millis(3000);
/// A round says nothing when the restart alone took this long (a loaded machine): the dead
/// entries would be nearly expired anyway. Such a round is repeated.
const RESTART_AT_MOST: Duration = Duration::from_millis(1500);

async fn connect(d: &DaemonProcess, session: &str) -> Client {
    // With its credential: the holder comes back as itself after the crash (issue 16).
    crate::support::client::try_connect_as(&d.base(), session)
        .await
        .unwrap_or_else(|e| panic!("{session} connects: {e}"))
}

async fn call(c: &Client, tool: &str, args: serde_json::Value) -> serde_json::Value {
    let r = try_call(c, tool, args, CALL_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    r.ok().clone()
}

/// `mcp-coord lock LOCK --wait 60` as session `session`: a real client, queued.
fn spawn_waiter(d: &DaemonProcess, session: &str) -> Child {
    binary::command(
        d.dir(),
        &[
            "--url",
            &d.base(),
            "--session",
            session,
            "lock",
            LOCK,
            "--wait",
            "60",
            "--ttl",
            "60",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("mcp-coord lock starts")
}

/// One crash: a holder, queued client processes, SIGKILL, restart, the holder releases, a
/// newcomer asks. Returns (answering → newcomer's grant, crash → grant), or `None` when
/// the restart took too long to tell anything.
async fn one_round(d: &mut DaemonProcess, round: usize) -> Option<(Duration, Duration)> {
    let holder_name = format!("holder{round}");
    let holder = connect(d, &holder_name).await;
    call(
        &holder,
        "acquire_lock",
        json!({ "lock_name": LOCK, "timeout_seconds": 600 }),
    )
    .await;
    let mut waiters: Vec<Child> = (0..WAITERS)
        .map(|i| spawn_waiter(d, &format!("w{round}x{i}")))
        .collect();
    let mut queued = false;
    for _ in 0..600 {
        let c = call(&holder, "check_lock", json!({ "lock_name": LOCK })).await;
        if c["waiters"].as_u64() == Some(WAITERS as u64) {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(queued, "the {WAITERS} client processes never all queued");
    // Let them renew their entries a few times, as waiters do while the daemon lives.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let crashed_at = Instant::now();
    d.kill9();
    for w in &mut waiters {
        let _ = w.kill();
        let _ = w.wait();
    }
    drop(holder);
    d.restart();
    let answering_at = Instant::now();
    if answering_at - crashed_at > RESTART_AT_MOST {
        eprintln!(
            "round {round}: the restart took {:.2} s; too slow to tell, trying again",
            (answering_at - crashed_at).as_secs_f64()
        );
        // Clean up for the next round: the holder lets go (nothing else is left queued
        // once the old entries expired).
        let holder = connect(d, &holder_name).await;
        call(&holder, "release_lock", json!({ "lock_name": LOCK })).await;
        tokio::time::sleep(WAITER_TTL).await;
        return None;
    }

    let holder = connect(d, &holder_name).await;
    let seen = call(&holder, "check_lock", json!({ "lock_name": LOCK })).await;
    assert_eq!(
        seen["waiters"], 0,
        "check_lock counts the dead daemon's waiters: {seen}"
    );
    call(&holder, "release_lock", json!({ "lock_name": LOCK })).await;
    let newcomer = connect(d, &format!("after{round}")).await;
    // Asked without waiting: only a queue blocked by dead entries refuses it now.
    let first = try_call(
        &newcomer,
        "acquire_lock",
        json!({ "lock_name": LOCK, "timeout_seconds": 60 }),
        CALL_WITHIN,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let asked_at = Instant::now();
    if first.is_error {
        // For the figure in the failure: how long until the queue let it through.
        call(
            &newcomer,
            "acquire_lock",
            json!({ "lock_name": LOCK, "timeout_seconds": 60, "wait_seconds": 20 }),
        )
        .await;
    }
    let granted_at = Instant::now();
    call(&newcomer, "release_lock", json!({ "lock_name": LOCK })).await;
    let since_answer = granted_at - answering_at;
    assert!(
        !first.is_error,
        "right after the restart ({:.2} s after the crash, {:.0} ms after the daemon answered) \
         the free lock was refused: {}; granted only {:.2} s after the crash, when the dead \
         daemon's queue entries had expired",
        (asked_at - crashed_at).as_secs_f64(),
        (asked_at - answering_at).as_secs_f64() * 1000.0,
        first.text,
        (granted_at - crashed_at).as_secs_f64()
    );
    Some((since_answer, granted_at - crashed_at))
}

async fn lock_service_is_back_at_once(redis_url: Option<&str>) -> DaemonProcess {
    let store = if redis_url.is_some() {
        "redis"
    } else {
        "embedded"
    };
    let mut d = DaemonProcess::start(redis_url, &[]);
    for round in 0..3 {
        let Some((since_answer, since_crash)) = one_round(&mut d, round).await else {
            continue;
        };
        eprintln!(
            "daemon crash with {WAITERS} queued client processes ({store} store): first grant \
             to a newcomer {:.0} ms after the daemon answered again ({:.2} s after the crash; \
             the dead entries would have expired {:.1} s after it)",
            since_answer.as_secs_f64() * 1000.0,
            since_crash.as_secs_f64(),
            WAITER_TTL.as_secs_f64()
        );
        return d;
    }
    panic!("three restarts in a row took over {RESTART_AT_MOST:?}: the machine is too loaded");
}

#[tokio::test]
async fn after_a_daemon_crash_dead_waiters_do_not_block_the_embedded_store() {
    lock_service_is_back_at_once(None).await;
}

#[tokio::test]
async fn after_a_daemon_crash_dead_waiters_do_not_block_redis() {
    let redis = RedisServer::start_persistent();
    let mut d = lock_service_is_back_at_once(Some(&redis.url())).await;
    // The crashed incarnations were dropped from the registry by the restarted daemon (their
    // pid is gone), and an orderly stop leaves it: nothing of the registry is left.
    d.terminate();
    let mut c = redis.conn();
    let left: Vec<String> = ::redis::cmd("KEYS")
        .arg("claude:daemons*")
        .query(&mut c)
        .unwrap();
    assert!(
        left.is_empty(),
        "registry keys left after a clean stop: {left:?}"
    );
}

/// The rule itself, on Redis, without a crash: a queue entry counts only while the daemon it
/// names holds a lease in `claude:daemons` — which is how a crashed daemon on another host
/// (no pid to look at) stops blocking once its lease ends.
#[tokio::test]
async fn a_waiter_counts_only_while_its_daemon_holds_a_lease() {
    let redis = RedisServer::start();
    let mut d = crate::support::daemon::TestDaemon::on_redis(&redis, |_| {}).await;
    let c = crate::support::client::connect_http(&d.mcp_url(), &[("X-Coord-Session", "me")]).await;
    let mut r = redis.conn();
    let now: (u64, u64) = ::redis::cmd("TIME").query(&mut r).unwrap();
    let now_ms = now.0 * 1000 + now.1 / 1000;
    // A waiter of session `far` queued by daemon `elsewhere`, its own entry good for a minute.
    let _: () = ::redis::pipe()
        .rpush("claude:locks:queue:resource:far-queue", "w-far")
        .set_ex(
            "claude:locks:waiter:w-far",
            r#"{"session":"far","lock":"resource:far-queue","daemon":"elsewhere"}"#,
            60,
        )
        .zadd("claude:sessions:last_seen", "far", now_ms)
        .zadd("claude:daemons", "elsewhere", now_ms + 60_000)
        .query(&mut r)
        .unwrap();
    let asked = try_call(
        &c,
        "acquire_lock",
        json!({ "lock_name": "far-queue" }),
        CALL_WITHIN,
    )
    .await
    .unwrap();
    assert!(
        asked.is_error && asked.text.contains("queued"),
        "a waiter of a live daemon keeps its place: {}",
        asked.text
    );
    // Its lease ends (the daemon died on another host): the entry no longer blocks.
    let _: () = ::redis::cmd("ZADD")
        .arg("claude:daemons")
        .arg(now_ms.saturating_sub(1))
        .arg("elsewhere")
        .query(&mut r)
        .unwrap();
    let asked = try_call(
        &c,
        "acquire_lock",
        json!({ "lock_name": "far-queue" }),
        CALL_WITHIN,
    )
    .await
    .unwrap();
    assert!(
        !asked.is_error,
        "the dead daemon's waiter still blocks: {}",
        asked.text
    );
    d.stop().await;
}
