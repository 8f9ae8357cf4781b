//! A Redis that answers slowly but within `store.timeout_ms` is a working Redis. redis-rs
//! 1.x gives each connection its own 500 ms response timeout, which used to fire first: a
//! store call that Redis applied after 0.8 s came back "store unavailable: timed out".

use std::time::{Duration, Instant};

use crate::conformance::redis_store;
use crate::support::redis::RedisServer;

#[tokio::test]
async fn an_answer_slower_than_half_a_second_but_within_the_store_timeout_succeeds() {
    let redis = RedisServer::start();
    let store = redis_store(&redis, |s| s.store.timeout_ms = 5_000).await;
    store.ping().await.expect("redis answers");

    // Hold every client's commands for 1.2 s, then ask: the answer comes after the pause.
    let mut admin = redis.conn();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_200)
        .arg("ALL")
        .query(&mut admin)
        .expect("CLIENT PAUSE");
    let started = Instant::now();
    let answer = store.now_ms().await;
    let waited = started.elapsed();
    println!("store call during a 1.2 s pause answered after {waited:?}: {answer:?}");
    assert!(
        answer.is_ok(),
        "a call within store.timeout_ms must succeed, got {answer:?} after {waited:?}"
    );
    assert!(
        waited >= Duration::from_millis(900),
        "the call should have waited for the pause (it answered after {waited:?}); the test \
         did not exercise a slow answer"
    );
}
