//! Issue 3: locks through real MCP clients on both transports, against a real Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mcp_coord::service::Caller;
use mcp_coord::service::locks::{AcquireLockArgs, LockNameArgs, WaitContext};
use serde_json::json;

use crate::support::client::{Client, call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

async fn named_http(d: &TestDaemon, name: &str) -> Client {
    connect_http(&d.mcp_url(), &[("X-Coord-Session", name)]).await
}

async fn named_sse(d: &TestDaemon, name: &str) -> Client {
    connect_sse(&format!("{}?session={name}", d.sse_url()), &[]).await
}

/// Every key in the private Redis except the session index, which every tool call may touch.
fn lock_keys(redis: &RedisServer) -> Vec<String> {
    let mut c = redis.conn();
    let mut keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    // Sessions, the data-loss guard's marker and the daemon registry (written at connect)
    // and the audit log (which records the caller's registration) are not lock keys.
    keys.retain(|k| {
        !k.contains("sessions:")
            && !k.contains("heartbeat:")
            && !k.ends_with("store:epoch")
            && !k.ends_with(":audit")
            && !k.starts_with("claude:daemons")
    });
    keys.sort();
    keys
}

/// Polls check_lock until `n` waiters are queued (how tests order waiters deterministically).
async fn until_waiters(client: &Client, lock: &str, n: u64) {
    for _ in 0..200 {
        let c = call(client, "check_lock", json!({ "lock_name": lock })).await;
        if c.ok()["waiters"] == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{lock} never had {n} waiters");
}

#[tokio::test]
async fn two_connections_exclude_each_other_and_only_the_holder_releases() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_sse(&d, "child_web_task_3").await;
    let b = named_http(&d, "child_web_task_4").await;

    let got = call(
        &a,
        "acquire_lock",
        json!({"lock_name": "pytest", "timeout": 600, "reason": "full suite"}),
    )
    .await;
    let g = got.ok();
    assert_eq!(g["lock"], "resource:pytest");
    assert_eq!(g["reentrant"], false);
    assert!(g["token"].as_u64().unwrap() >= 1);
    assert!(
        g["expires_in_seconds"].as_i64().unwrap() > 590,
        "timeout alias: {g}"
    );

    let stored: String = ::redis::cmd("GET")
        .arg("claude:locks:resource:pytest")
        .query(&mut redis.conn())
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["holder"], "child_web_task_3");
    assert_eq!(stored["reason"], "full suite");
    assert_eq!(stored["token"], g["token"]);
    assert!(stored["acquired_at"].is_i64() && stored["expires_at"].is_i64());
    let pttl: i64 = ::redis::cmd("PTTL")
        .arg("claude:locks:resource:pytest")
        .query(&mut redis.conn())
        .unwrap();
    assert!(pttl > 590_000 && pttl <= 600_000, "{pttl}");

    let refused = call(&b, "acquire_lock", json!({"lock_name": "pytest"})).await;
    let r = refused.err();
    assert_eq!(r["error"], "conflict");
    assert_eq!(r["holder"], "child_web_task_3");
    assert_eq!(r["holder_tier"], "active");
    assert!(r["expires_in_seconds"].as_i64().unwrap() > 0);
    assert!(
        refused.text.contains("held by child_web_task_3 (active")
            && refused.text.contains("wait_seconds="),
        "{}",
        refused.text
    );

    let not_owner = call(&b, "release_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(not_owner.err()["error"], "not_owner");
    assert!(
        not_owner.text.contains("child_web_task_3"),
        "{}",
        not_owner.text
    );
    let ext = call(
        &b,
        "extend_lock",
        json!({"lock_name": "pytest", "timeout_seconds": 900}),
    )
    .await;
    assert_eq!(ext.err()["error"], "not_owner");

    let ext = call(
        &a,
        "extend_lock",
        json!({"lock_name": "pytest", "timeout_seconds": 900}),
    )
    .await;
    assert!(ext.ok()["expires_in_seconds"].as_i64().unwrap() > 890);

    let check = call(&b, "check_lock", json!({"lock_name": "pytest"})).await;
    let c = check.ok();
    assert_eq!(c["free"], false);
    assert_eq!(c["held"]["holder"], "child_web_task_3");
    assert_eq!(c["held"]["is_mine"], false);
    let list = call(&b, "list_locks", json!({"pattern": "py*"})).await;
    assert_eq!(list.ok()["count"], 1);
    let list = call(&b, "list_locks", json!({})).await;
    assert_eq!(list.ok()["locks"][0]["lock"], "resource:pytest");

    let rel = call(&a, "release_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(rel.ok()["released"], true);
    let got = call(&b, "acquire_lock", json!({"lock_name": "pytest"})).await;
    assert!(got.ok()["token"].as_u64() > g["token"].as_u64());
    d.stop().await;
}

#[tokio::test]
async fn work_resolves_from_branch_and_hierarchy_holds_over_mcp() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "a").await;
    let b = named_sse(&d, "b").await;
    let no_branch = call(&a, "acquire_lock", json!({"lock_name": "work"})).await;
    assert!(
        no_branch.err()["message"]
            .as_str()
            .unwrap()
            .contains("branch=")
    );
    let g = call(
        &a,
        "acquire_lock",
        json!({"lock_name": "work", "branch": "wave-5c-feat"}),
    )
    .await;
    assert_eq!(g.ok()["lock"], "wave:5c");
    let r = call(
        &b,
        "acquire_lock",
        json!({"lock_name": "work", "branch": "wave-5c.1-feat"}),
    )
    .await;
    assert_eq!(r.err()["related_lock"], "wave:5c");
    assert!(r.text.contains("ancestors and descendants"), "{}", r.text);
    let g = call(
        &b,
        "acquire_lock",
        json!({"lock_name": "path:src/auth/login.rs"}),
    )
    .await;
    g.ok();
    let r = call(&a, "acquire_lock", json!({"lock_name": "path:src"})).await;
    assert_eq!(r.err()["related_lock"], "path:src/auth/login.rs");

    // The branch a session registered resolves `work` without an argument.
    let c = named_http(&d, "c").await;
    call(&c, "register_session", json!({"branch": "issue-42-auth"}))
        .await
        .ok();
    let g = call(&c, "acquire_lock", json!({"lock_name": "work"})).await;
    assert_eq!(g.ok()["lock"], "issue:42");
    let held = call(&c, "check_lock", json!({"lock_name": "work"})).await;
    assert_eq!(held.ok()["held"]["is_mine"], true, "{}", held.text);
    call(&c, "release_lock", json!({"lock_name": "work"}))
        .await
        .ok();
    d.stop().await;
}

#[tokio::test]
async fn tokens_increase_across_a_daemon_restart() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "a").await;
    let first = call(&a, "acquire_lock", json!({"lock_name": "pr-create"})).await;
    let t1 = first.ok()["token"].as_u64().unwrap();
    call(&a, "release_lock", json!({"lock_name": "pr-create"}))
        .await
        .ok();
    drop(a);
    d.stop().await;

    // Another session: "a" is still active, and a new connection is not it (issue 16).
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "a2").await;
    let second = call(&a, "acquire_lock", json!({"lock_name": "pr-create"})).await;
    assert!(second.ok()["token"].as_u64().unwrap() > t1);
    d.stop().await;
}

#[tokio::test]
async fn ttl_expiry_frees_the_lock() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "a").await;
    let b = named_http(&d, "b").await;
    call(
        &a,
        "acquire_lock",
        json!({"lock_name": "pytest", "timeout_seconds": 1}),
    )
    .await
    .ok();
    call(&b, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .err();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    call(&b, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let late = call(&a, "extend_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(late.err()["error"], "not_owner");
    d.stop().await;
}

#[tokio::test]
async fn a_waiter_is_granted_on_release_and_waiters_are_served_in_arrival_order() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "holder").await;
    call(&a, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();

    let mut tasks = Vec::new();
    for i in 0..5 {
        let client = if i % 2 == 0 {
            named_http(&d, &format!("w{i}")).await
        } else {
            named_sse(&d, &format!("w{i}")).await
        };
        tasks.push(tokio::spawn(async move {
            let g = call(
                &client,
                "acquire_lock",
                json!({"lock_name": "pytest", "wait_seconds": 30}),
            )
            .await;
            let token = g.ok()["token"].as_u64().unwrap();
            let waited = g.json["waited_ms"].as_u64().unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
            call(&client, "release_lock", json!({"lock_name": "pytest"}))
                .await
                .ok();
            (i, token, waited)
        }));
        until_waiters(&a, "pytest", i + 1).await;
    }
    let position = call(&a, "check_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(position.ok()["waiters"], 5);
    call(&a, "release_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let mut results = Vec::new();
    for t in tasks {
        results.push(
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    results.sort_by_key(|(_, token, _)| *token);
    let order: Vec<u64> = results.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4], "granted in arrival order");
    d.stop().await;
}

#[tokio::test]
async fn a_waiter_that_disconnects_does_not_block_the_next() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "holder").await;
    call(&a, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();

    // One leaver per transport, queued ahead of the patient waiter.
    let sse_leaver = named_sse(&d, "leaver-sse").await;
    let http_leaver = named_http(&d, "leaver-http").await;
    let patient = named_http(&d, "patient").await;
    let mut leavers = Vec::new();
    for (n, client) in [(1, sse_leaver), (2, http_leaver)] {
        let client = Arc::new(client);
        let c = client.clone();
        let t = tokio::spawn(async move {
            let mut p = rmcp::model::CallToolRequestParams::new("acquire_lock");
            p = p.with_arguments(
                json!({"lock_name": "pytest", "wait_seconds": 60})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            c.call_tool(p).await
        });
        until_waiters(&a, "pytest", n).await;
        leavers.push((client, t));
    }
    let p = tokio::spawn(async move {
        call(
            &patient,
            "acquire_lock",
            json!({"lock_name": "pytest", "wait_seconds": 30}),
        )
        .await
    });
    until_waiters(&a, "pytest", 3).await;
    for (client, task) in leavers {
        task.abort();
        let _ = task.await;
        let client = Arc::try_unwrap(client).unwrap_or_else(|_| panic!("client still shared"));
        client.cancel().await.unwrap();
    }
    call(&a, "release_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let got = tokio::time::timeout(Duration::from_secs(10), p)
        .await
        .expect("the patient waiter is not blocked")
        .unwrap();
    assert_eq!(got.ok()["holder"], "patient");
    let check = call(&a, "check_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(check.ok()["held"]["holder"], "patient");
    d.stop().await;
}

#[tokio::test]
async fn a_wait_that_times_out_reports_its_queue_position() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "a").await;
    let b = named_sse(&d, "b").await;
    call(&a, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let r = call(
        &b,
        "acquire_lock",
        json!({"lock_name": "pytest", "wait_seconds": 1}),
    )
    .await;
    let e = r.err();
    assert_eq!(e["queue_position"], 1);
    assert_eq!(e["waited_seconds"], 1);
    assert!(r.text.contains("number 1 of 1"), "{}", r.text);
    let c = call(&a, "check_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(c.ok()["waiters"], 0, "a timed-out waiter leaves the queue");
    d.stop().await;
}

#[tokio::test]
async fn holder_tiers_idle_warns_stale_needs_force_absent_is_free() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        s.sessions.active_seconds = 1;
        s.sessions.idle_seconds = 2;
        s.sessions.stale_seconds = 600;
        s.locks.lock_delay_seconds = 30;
    })
    .await;
    let a = named_http(&d, "sleepy").await;
    let b = named_sse(&d, "b").await;
    let c = named_http(&d, "c").await;
    let g = call(&a, "acquire_lock", json!({"lock_name": "pytest"})).await;
    let t1 = g.ok()["token"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let idle = call(
        &b,
        "acquire_lock",
        json!({"lock_name": "pytest", "force": true}),
    )
    .await;
    assert_eq!(idle.err()["holder_tier"], "idle");
    assert!(
        idle.text.contains("Warning: sleepy has been idle for"),
        "{}",
        idle.text
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stale = call(&b, "acquire_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(stale.err()["holder_tier"], "stale");
    assert!(stale.text.contains("force=true"), "{}", stale.text);
    let taken = call(
        &b,
        "acquire_lock",
        json!({"lock_name": "pytest", "force": true}),
    )
    .await;
    let t = taken.ok();
    assert_eq!(t["taken_over_from"], "sleepy");
    assert!(t["token"].as_u64().unwrap() > t1);
    // The old holder is told.
    let told = call(&a, "check_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(told.ok()["taken_over"]["by"], "b");
    let rel = call(&a, "release_lock", json!({"lock_name": "pytest"})).await;
    assert!(rel.text.contains("taken over by b"), "{}", rel.text);
    // Lock-delay: b gives it back early, c still cannot have it yet.
    call(&b, "release_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let delayed = call(&c, "acquire_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(delayed.err()["error"], "lock_delay");
    assert_eq!(delayed.json["reserved_for"], "b");

    // A holder missing from the live-session index (ended) holds nothing.
    call(&c, "acquire_lock", json!({"lock_name": "pr-create"}))
        .await
        .ok();
    let _: i64 = ::redis::cmd("ZREM")
        .arg("claude:sessions:last_seen")
        .arg("c")
        .query(&mut redis.conn())
        .unwrap();
    let free = call(&b, "acquire_lock", json!({"lock_name": "pr-create"})).await;
    assert_eq!(free.ok()["taken_over_from"], "c");
    d.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_creates_no_keys() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "a").await;
    let long = "x".repeat(10_000);
    let names = [
        "",
        long.as_str(),
        "py*",
        "py?",
        "[ab]",
        "a]",
        "line\nbreak",
        "bell\u{7}",
        "tab\there",
        "foo:bar",
        "issue:",
        "path:/etc/passwd",
        "path:../up",
        "{claude}x",
        "work",
    ];
    for name in names {
        for tool in ["acquire_lock", "release_lock", "check_lock", "extend_lock"] {
            let r = call(&a, tool, json!({ "lock_name": name })).await;
            let e = r.err();
            assert_eq!(
                e["error"], "invalid_argument",
                "{tool} {name:?}: {}",
                r.text
            );
            assert!(r.text.len() < 600, "short message: {}", r.text);
        }
    }
    for timeout in [0, -5] {
        let r = call(
            &a,
            "acquire_lock",
            json!({"lock_name": "pytest", "timeout_seconds": timeout}),
        )
        .await;
        assert!(r.err()["message"].as_str().unwrap().contains("at least 1"));
    }
    let r = call(
        &a,
        "acquire_lock",
        json!({"lock_name": "pytest", "wait_seconds": -1}),
    )
    .await;
    r.err();
    let r = call(
        &a,
        "acquire_lock",
        json!({"lock_name": "pytest", "reason": "x".repeat(501)}),
    )
    .await;
    r.err();
    let r = call(&a, "list_locks", json!({"pattern": "[unclosed"})).await;
    r.err();
    assert_eq!(
        lock_keys(&redis),
        Vec::<String>::new(),
        "no keys from bad input"
    );

    // Huge: clamped to locks.max_timeout_seconds, with a warning.
    let r = call(
        &a,
        "acquire_lock",
        json!({"lock_name": "pytest", "timeout_seconds": 9_000_000_000_i64}),
    )
    .await;
    let g = r.ok();
    assert_eq!(g["expires_in_seconds"], 86_400);
    assert!(g["warnings"][0].as_str().unwrap().contains("clamped"));
    d.stop().await;
}

/// 16 clients contend for one lock through the service layer; each holder bumps a shared
/// counter inside its critical section. No two are ever inside at once, and every grant's
/// token is above every earlier grant's. Run on both stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn property_sixteen_clients_never_overlap_and_tokens_increase_on_redis() {
    let redis = RedisServer::start();
    sixteen_clients(TestDaemon::on_redis(&redis, patient_store).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn property_sixteen_clients_never_overlap_and_tokens_increase_embedded() {
    sixteen_clients(TestDaemon::embedded(patient_store).await).await;
}

/// 3200 lock round trips on a loaded 2-core machine: give store calls time (the property is
/// exclusion, not speed).
fn patient_store(s: &mut mcp_coord::config::Settings) {
    s.store.timeout_ms = 10_000;
}

async fn sixteen_clients(mut d: TestDaemon) {
    const CLIENTS: usize = 16;
    const ROUNDS: usize = 200;
    let coord = d.coord().clone();
    let inside = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let last_token = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (coord, inside, counter, last_token) = (
            coord.clone(),
            inside.clone(),
            counter.clone(),
            last_token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let caller = Caller {
                session: format!("p{i}"),
                connection_id: format!("c{i}"),
                transport: "test",
                principal: Default::default(),
            };
            for _ in 0..ROUNDS {
                let args = AcquireLockArgs {
                    lock_name: "pytest".into(),
                    wait_seconds: Some(60),
                    ..Default::default()
                };
                let g = coord
                    .acquire_lock(&caller, args, WaitContext::default())
                    .await
                    .unwrap_or_else(|e| panic!("{i}: {e}"));
                assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                let prev = last_token.swap(g.token, Ordering::SeqCst);
                assert!(g.token > prev, "token {} after {prev}", g.token);
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.store(false, Ordering::SeqCst);
                coord
                    .release_lock(
                        &caller,
                        &LockNameArgs {
                            lock_name: "pytest".into(),
                            branch: None,
                        },
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        // A deadlock guard, not a speed bound: on a loaded 2-core box 3,200 Redis round trips
        // with 16 contenders took 52 s.
        tokio::time::timeout(Duration::from_secs(300), t)
            .await
            .expect("no deadlock")
            .unwrap();
    }
    eprintln!("16 clients x {ROUNDS} rounds: {:?}", started.elapsed());
    assert_eq!(counter.load(Ordering::SeqCst), (CLIENTS * ROUNDS) as u64);
    d.stop().await;
}

#[tokio::test]
async fn release_locks_of_frees_a_sessions_locks_and_wakes_waiters() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = named_http(&d, "ending").await;
    let b = named_sse(&d, "next").await;
    call(&a, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    call(&a, "acquire_lock", json!({"lock_name": "issue:9"}))
        .await
        .ok();
    let waiter = tokio::spawn(async move {
        call(
            &b,
            "acquire_lock",
            json!({"lock_name": "pytest", "wait_seconds": 20}),
        )
        .await
    });
    until_waiters(&a, "pytest", 1).await;
    let released = d.coord().release_locks_of("ending", 0).await.unwrap();
    assert_eq!(released, vec!["issue:9", "resource:pytest"]);
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.ok()["holder"], "next");
    d.stop().await;
}

#[tokio::test]
async fn embedded_store_serves_the_same_tools() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let a = named_http(&d, "a").await;
    let b = named_sse(&d, "b").await;
    call(&a, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    call(&b, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .err();
    let waiter = tokio::spawn(async move {
        call(
            &b,
            "acquire_lock",
            json!({"lock_name": "pytest", "wait_seconds": 20}),
        )
        .await
    });
    until_waiters(&a, "pytest", 1).await;
    call(&a, "release_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.ok()["holder"], "b");
    d.stop().await;
}

/// `list_locks` answers in pages: name order, at most `limit` locks each, `next_cursor`
/// continues after a page, `total_count` counts every match; without arguments a small
/// listing is one answer with no cursor; a limit out of range is refused.
async fn list_locks_pages(mut d: TestDaemon) {
    let a = named_http(&d, "pager").await;
    for n in ["e", "a", "d", "b", "c"] {
        call(
            &a,
            "acquire_lock",
            json!({"lock_name": format!("page-{n}")}),
        )
        .await
        .ok();
    }
    call(&a, "acquire_lock", json!({"lock_name": "other"}))
        .await
        .ok();
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    for _ in 0..10 {
        let mut args = json!({"pattern": "page-*", "limit": 2});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let page = call(&a, "list_locks", args).await;
        let p = page.ok();
        assert_eq!(p["total_count"], 5, "{p}");
        assert!(p["count"].as_u64().unwrap() <= 2, "{p}");
        assert_eq!(p["count"], p["locks"].as_array().unwrap().len());
        seen.extend(
            p["locks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["lock"].as_str().unwrap().to_string()),
        );
        match p.get("next_cursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let want: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| format!("resource:page-{n}"))
        .collect();
    assert_eq!(seen, want, "every lock once, in name order");

    let all = call(&a, "list_locks", json!({})).await;
    let all = all.ok();
    assert_eq!((&all["count"], &all["total_count"]), (&json!(6), &json!(6)));
    assert!(all.get("next_cursor").is_none(), "{all}");
    assert_eq!(all["locks"][0]["lock"], "resource:other");

    assert_eq!(all["locks"][0]["waiters"], 0, "{all}");

    // Each listed lock says how many wait for it (no check_lock per lock needed).
    let b = named_http(&d, "pager_waiter").await;
    let waiting = tokio::spawn(async move {
        let got = call(
            &b,
            "acquire_lock",
            json!({"lock_name": "page-a", "wait_seconds": 20}),
        )
        .await;
        (b, got)
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let l = call(&a, "list_locks", json!({"pattern": "page-a"})).await;
        if l.ok()["locks"][0]["waiters"] == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never 1 waiter: {}",
            l.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    call(&a, "release_lock", json!({"lock_name": "page-a"}))
        .await
        .ok();
    let (b, got) = waiting.await.unwrap();
    assert_eq!(got.ok()["granted"], true, "{}", got.text);
    let _ = b.cancel().await;

    for limit in [0, 5001] {
        let r = call(&a, "list_locks", json!({"limit": limit})).await;
        assert!(r.err()["message"].as_str().unwrap().contains("1 to 5000"));
    }
    d.stop().await;
}

#[tokio::test]
async fn list_locks_pages_on_redis() {
    let redis = RedisServer::start();
    list_locks_pages(TestDaemon::on_redis(&redis, |_| {}).await).await;
}

#[tokio::test]
async fn list_locks_pages_embedded() {
    list_locks_pages(TestDaemon::embedded(|_| {}).await).await;
}
