//! A Redis that stops answering for longer than `store.timeout_ms` (`CLIENT PAUSE … ALL`,
//! as a fork for BGSAVE, swapping or a failover would), again and again, while clients on
//! both transports call lock tools. Calls must fail fast with "store unavailable", `/health`
//! must keep answering (503 while it lasts), and everything must work right after, with the
//! same daemon process. (A lock guard held across a call that locked again once wedged the
//! daemon for good on the first such pause: issue 12.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{health, try_call};
use crate::support::client::{Client, ToolOutcome, connect_http, connect_sse};
use crate::support::process::DaemonProcess;
use crate::support::redis::RedisServer;

/// The daemon's bound on each store call.
const STORE_TIMEOUT_MS: u64 = 400;
/// How long each pause lasts: many store timeouts.
const PAUSE_MS: u64 = 4000;
const ROUNDS: usize = 3;
/// Far beyond any answer a working daemon gives; reaching it means it wedged.
const CALL_BOUND: Duration = Duration::from_secs(15);

/// What one background client saw.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    unavailable: usize,
    /// Anything else: another refusal, a transport failure, or no answer at all.
    wrong: Vec<String>,
}

fn is_unavailable(o: &ToolOutcome) -> bool {
    o.is_error && o.json["error"] == "store_unavailable" && o.text.contains("store unavailable")
}

/// Acquires and releases its own lock until `stop`, classifying every answer.
async fn keep_calling(client: Client, lock: String, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let args = json!({ "lock_name": lock, "timeout_seconds": 30 });
        match try_call(&client, "acquire_lock", args, CALL_BOUND).await {
            Ok(o) if !o.is_error => {
                tally.ok += 1;
                let _ = try_call(
                    &client,
                    "release_lock",
                    json!({ "lock_name": lock }),
                    CALL_BOUND,
                )
                .await;
            }
            Ok(o) if is_unavailable(&o) => tally.unavailable += 1,
            Ok(o) => tally.wrong.push(o.text),
            Err(e) => {
                tally.wrong.push(e);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally
}

fn pause_redis(redis: &RedisServer, ms: u64) {
    let mut conn = redis.conn();
    ::redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .query::<()>(&mut conn)
        .expect("CLIENT PAUSE");
}

/// One call that must answer "store unavailable" while Redis is paused: a call that waited
/// the pause out would have succeeded instead.
async fn expect_fast_failure(client: &Client, transport: &str) {
    let started = Instant::now();
    let answer = try_call(
        client,
        "acquire_lock",
        json!({ "lock_name": format!("stall-probe-{transport}") }),
        CALL_BOUND,
    )
    .await
    .unwrap_or_else(|e| panic!("{transport}: the daemon did not answer during the pause: {e}"));
    assert!(
        is_unavailable(&answer),
        "{transport}: a call during the pause answers store unavailable, got {answer:?}"
    );
    println!(
        "redis_stall: {transport} call answered `store unavailable` in {:?}",
        started.elapsed()
    );
}

/// After the pause: a successful acquire + release within a bounded number of tries.
async fn expect_recovery(client: &Client, transport: &str) {
    let lock = format!("stall-after-{transport}");
    for _ in 0..50 {
        let answer = try_call(
            client,
            "acquire_lock",
            json!({ "lock_name": lock }),
            CALL_BOUND,
        )
        .await
        .unwrap_or_else(|e| panic!("{transport}: no answer after the pause: {e}"));
        if !answer.is_error {
            let released = try_call(
                client,
                "release_lock",
                json!({ "lock_name": lock }),
                CALL_BOUND,
            )
            .await
            .unwrap_or_else(|e| panic!("{transport}: release after the pause: {e}"));
            assert!(
                !released.is_error,
                "{transport}: release works: {released:?}"
            );
            return;
        }
        assert!(is_unavailable(&answer), "{transport}: {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{transport}: calls still fail after Redis answers again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_makes_calls_fail_fast_and_the_daemon_recovers_without_restart() {
    let redis = RedisServer::start();
    let timeout = STORE_TIMEOUT_MS.to_string();
    let mut daemon = DaemonProcess::start(
        Some(&redis.url()),
        &[("MCP_COORD_STORE_TIMEOUT_MS", &timeout)],
    );
    let pid = daemon.pid();
    let base = daemon.base();

    let probe_http = connect_http(&daemon.mcp_url(), &[("X-Coord-Session", "probe-http")]).await;
    let probe_sse = connect_sse(&format!("{}?session=probe-sse", daemon.sse_url()), &[]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..2 {
        let http = connect_http(&daemon.mcp_url(), &[]).await;
        let sse = connect_sse(&daemon.sse_url(), &[]).await;
        workers.push(tokio::spawn(keep_calling(
            http,
            format!("stall-http-{i}"),
            stop.clone(),
        )));
        workers.push(tokio::spawn(keep_calling(
            sse,
            format!("stall-sse-{i}"),
            stop.clone(),
        )));
    }

    for round in 1..=ROUNDS {
        pause_redis(&redis, PAUSE_MS);
        let paused_at = Instant::now();
        let (_, _, status) = tokio::join!(
            expect_fast_failure(&probe_http, "streamable-http"),
            expect_fast_failure(&probe_sse, "sse"),
            health(&base),
        );
        assert_eq!(
            status,
            Some(503),
            "round {round}: /health answers 503 while Redis is paused"
        );
        // Let the pause run out, with the workers' calls piling up against it.
        let left = Duration::from_millis(PAUSE_MS).saturating_sub(paused_at.elapsed());
        tokio::time::sleep(left + Duration::from_millis(200)).await;

        let recovering = Instant::now();
        tokio::join!(
            expect_recovery(&probe_http, "streamable-http"),
            expect_recovery(&probe_sse, "sse"),
        );
        let mut healthy = false;
        for _ in 0..50 {
            if health(&base).await == Some(200) {
                healthy = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            healthy,
            "round {round}: /health is 200 again after the pause"
        );
        println!(
            "redis_stall: round {round}: both transports and /health back {:?} after the pause ended",
            recovering.elapsed()
        );
    }

    stop.store(true, Ordering::Relaxed);
    let mut unavailable = 0;
    let mut ok = 0;
    for w in workers {
        let tally = tokio::time::timeout(CALL_BOUND * 2, w)
            .await
            .expect("background clients stop")
            .expect("background client task");
        assert!(
            tally.wrong.is_empty(),
            "every answer during and after the pauses is a success or `store unavailable`: {:?}",
            tally.wrong
        );
        unavailable += tally.unavailable;
        ok += tally.ok;
    }
    println!("redis_stall: background clients: {ok} grants, {unavailable} `store unavailable`");
    assert!(
        ok > 0,
        "the background clients got locks between the pauses"
    );
    assert!(daemon.is_running(), "the daemon was never restarted");
    assert_eq!(daemon.pid(), pid);
}
