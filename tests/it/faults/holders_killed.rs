//! Holders SIGKILLed at random during contention (issue 14): a killed holder's lock frees
//! only when its TTL runs out (the holder's session is still active, so liveness does not
//! free it either) — never early — and the next holder's token is higher. Both stores.
//!
//! Holders are real `mcp-coord run --lock shared --wait … -- sleep …` processes: each renews
//! its lock every ttl/3 while its command runs, so only a kill stops the renewals.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Lcg;
use crate::support::binary;
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const HOLDERS: usize = 4;
const ROUNDS: usize = 3;
const TTL_S: u64 = 2;

/// The holder processes, killed on drop.
struct Holders(HashMap<u32, Child>);

impl Drop for Holders {
    fn drop(&mut self) {
        for child in self.0.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn holder_pid(session: &str) -> Option<u32> {
    session.rsplit_once(".run-")?.1.parse().ok()
}

async fn held(observer: &crate::support::client::Client) -> Option<Value> {
    let c = call(observer, "check_lock", json!({ "lock_name": "shared" })).await;
    let held = c.ok()["held"].clone();
    (!held.is_null()).then_some(held)
}

async fn killed_holders_free_only_by_ttl(d: &TestDaemon, seed: u64) {
    let mut rng = Lcg(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut holders = Holders(HashMap::new());
    for i in 0..HOLDERS {
        let child = binary::command(
            dir.path(),
            &[
                "--url",
                &d.base,
                "--session",
                &format!("holder{i}"),
                "run",
                "--lock",
                "shared",
                "--wait",
                "60",
                "--ttl",
                &TTL_S.to_string(),
                "-q",
                "--",
                "sleep",
                "60",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp-coord run starts");
        holders.0.insert(child.id(), child);
    }
    let observer = connect_http(&d.mcp_url(), &[("X-Coord-Session", "observer")]).await;
    let mut last_token = 0;
    for round in 0..ROUNDS {
        // Wait for the next holder.
        let started = Instant::now();
        let cur = loop {
            if let Some(h) = held(&observer).await
                && h["token"].as_u64() > Some(last_token)
            {
                break h;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nobody took the lock"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let holder = cur["holder"].as_str().unwrap().to_string();
        let token = cur["token"].as_u64().unwrap();
        assert!(token > last_token, "{token} > {last_token}");
        let pid = holder_pid(&holder).expect("run acts as <session>.run-<pid>");
        tokio::time::sleep(Duration::from_millis(100 + rng.below(600))).await;
        let mut child = holders.0.remove(&pid).expect("a holder we started");
        child.kill().unwrap(); // SIGKILL: no release, no more renewals
        child.wait().unwrap();
        let killed = Instant::now();

        // Until its TTL runs out, the killed holder keeps it; then the next one gets it.
        let mut last_expiry = cur["expires_at"].as_i64().unwrap();
        let next = loop {
            match held(&observer).await {
                Some(h) if h["token"].as_u64() == Some(token) => {
                    last_expiry = h["expires_at"].as_i64().unwrap();
                }
                Some(h) => break h,
                None => {}
            }
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "the lock was never handed on"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let next_token = next["token"].as_u64().unwrap();
        assert!(next_token > token, "{next_token} > {token}");
        assert!(
            next["acquired_at"].as_i64().unwrap() >= last_expiry,
            "freed early: granted at {} but the killed holder's lock ran until {last_expiry}",
            next["acquired_at"]
        );
        println!(
            "round {round}: killed {holder} (token {token}); the lock stayed held {:.2} s more \
             (its TTL), then went to {} (token {next_token})",
            killed.elapsed().as_secs_f64(),
            next["holder"]
        );
        last_token = token;
    }
}

#[tokio::test]
async fn killed_holders_free_only_by_ttl_on_the_embedded_store() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    killed_holders_free_only_by_ttl(&d, 14).await;
    d.stop().await;
}

#[tokio::test]
async fn killed_holders_free_only_by_ttl_on_redis() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    killed_holders_free_only_by_ttl(&d, 41).await;
    d.stop().await;
}
