//! Redis restarted under a running daemon, with and without persistence (issue 14): the
//! daemon recovers by itself, fencing tokens keep increasing, and after a restart that lost
//! the data no lock is granted while a lock granted before could still be held.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::client::{ToolOutcome, call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

/// Short TTL bounds, so the hold after a loss (locks.max_timeout_seconds) is seconds here.
const MAX_TTL_S: u64 = 4;

fn short_ttls(s: &mut mcp_coord::config::Settings) {
    s.locks.max_timeout_seconds = MAX_TTL_S;
    s.locks.default_timeout_seconds = MAX_TTL_S;
}

async fn health(d: &TestDaemon) -> Value {
    reqwest::get(format!("{}/health", d.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Calls `acquire_lock` until it is not refused with `refusal` (bounded by `within`).
async fn acquire_until_not(
    client: &crate::support::client::Client,
    lock: &str,
    refusal: &str,
    within: Duration,
) -> ToolOutcome {
    let started = Instant::now();
    loop {
        let r = call(client, "acquire_lock", json!({ "lock_name": lock })).await;
        if !(r.is_error && r.json["error"] == refusal) || started.elapsed() > within {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_redis_restart_that_lost_the_data_holds_grants_back_until_every_old_lock_expired() {
    let mut redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, short_ttls).await;
    let a = connect_http(&d.mcp_url(), &[("X-Coord-Session", "holder")]).await;
    let b = connect_http(&d.mcp_url(), &[("X-Coord-Session", "thief")]).await;
    let first = call(&a, "acquire_lock", json!({ "lock_name": "pytest" })).await;
    let t1 = first.ok()["token"].as_u64().unwrap();

    redis.restart(); // no persistence: the lock, its counter and the marker are gone
    let lost_at = Instant::now();
    let refused =
        acquire_until_not(&b, "pytest", "store_unavailable", Duration::from_secs(10)).await;
    let e = refused.err();
    assert_eq!(e["error"], "store_recovering", "{}", refused.text);
    assert!(
        e["grants_held_until"].as_i64().is_some(),
        "{}",
        refused.text
    );
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("resume-grants") && msg.contains("lost its data"),
        "{msg}"
    );

    let h = health(&d).await;
    assert_eq!(h["status"], "ok", "everything but grants works: {h}");
    assert!(
        h["store"]["grants_held"]["until_ms"].as_i64().is_some(),
        "{h}"
    );
    // The watcher reads AOF within a few seconds of the start (or the restart).
    let started = Instant::now();
    let warning = loop {
        let h = health(&d).await;
        if let Some(w) = h["store"]["persistence_warning"].as_str() {
            break w.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no AOF warning: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(warning.contains("no AOF"), "{warning}");

    // Messages and sessions keep working meanwhile.
    call(&a, "whoami", json!({})).await.ok();

    let granted =
        acquire_until_not(&b, "pytest", "store_recovering", Duration::from_secs(30)).await;
    let held_for = lost_at.elapsed();
    let t2 = granted.ok()["token"].as_u64().unwrap();
    assert!(
        t2 > t1,
        "tokens keep increasing across the loss: {t1} then {t2}"
    );
    assert!(
        held_for >= Duration::from_secs(MAX_TTL_S - 1),
        "held back at least as long as a lock from before could live"
    );
    println!(
        "redis restart without persistence: grants held back {:.1} s (max TTL {MAX_TTL_S} s); \
         tokens {t1} -> {t2}",
        held_for.as_secs_f64()
    );
    assert!(health(&d).await["store"].get("grants_held").is_none());
    d.stop().await;
}

#[tokio::test]
async fn the_watcher_sees_a_loss_without_any_grant_and_an_admin_can_resume() {
    let mut redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        s.locks.max_timeout_seconds = 3600;
    })
    .await;
    let bearer = d.admin_bearer();
    let admin = connect_http(
        &d.mcp_url(),
        &[("X-Coord-Session", "admin"), ("Authorization", &bearer)],
    )
    .await;
    // The daemon has seen the marker (its watcher runs at start).
    let started = Instant::now();
    while ::redis::Commands::exists::<_, bool>(&mut redis.conn(), "claude:store:epoch").ok()
        != Some(true)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "marker never written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    redis.restart();
    let started = Instant::now();
    let hold = loop {
        let h = health(&d).await;
        if let Some(hold) = h["store"].get("grants_held") {
            break hold.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "loss never seen: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "redis restart without persistence, no traffic: the watcher saw it after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        hold["reason"].as_str().unwrap().contains("restarted"),
        "{hold}"
    );
    let refused = call(&admin, "acquire_lock", json!({ "lock_name": "deploy" })).await;
    assert_eq!(refused.err()["error"], "store_recovering");

    let resumed = call(&admin, "resume_grants", json!({})).await;
    assert_eq!(resumed.ok()["resumed"], true, "{}", resumed.text);
    call(&admin, "acquire_lock", json!({ "lock_name": "deploy" }))
        .await
        .ok();
    let again = call(&admin, "resume_grants", json!({})).await;
    assert_eq!(again.ok()["resumed"], false);
    d.stop().await;
}

#[tokio::test]
async fn a_redis_restart_with_aof_keeps_every_lock_and_token() {
    let mut redis = RedisServer::start_persistent();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = connect_http(&d.mcp_url(), &[("X-Coord-Session", "holder")]).await;
    let b = connect_http(&d.mcp_url(), &[("X-Coord-Session", "other")]).await;
    let t1 = call(
        &a,
        "acquire_lock",
        json!({ "lock_name": "pytest", "timeout_seconds": 600 }),
    )
    .await
    .ok()["token"]
        .as_u64()
        .unwrap();

    redis.restart();
    let r = acquire_until_not(&b, "pytest", "store_unavailable", Duration::from_secs(10)).await;
    assert_eq!(
        r.err()["error"],
        "conflict",
        "still held by its holder: {}",
        r.text
    );
    assert_eq!(r.err()["holder"], "holder");
    let h = health(&d).await;
    assert!(
        h["store"].get("grants_held").is_none(),
        "nothing was lost: {h}"
    );
    assert!(h["store"].get("persistence_warning").is_none(), "{h}");

    call(&a, "release_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    let t2 = call(&b, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok()["token"]
        .as_u64()
        .unwrap();
    assert!(t2 > t1, "{t1} then {t2}");
    println!("redis restart with AOF: lock kept by its holder; tokens {t1} -> {t2}");
    d.stop().await;
}
