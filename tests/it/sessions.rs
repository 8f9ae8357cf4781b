//! Issue 4: sessions over MCP — registration and binding, tiers, the reaper, hierarchy,
//! status reports, ending; on both stores and both transports.

use std::collections::BTreeSet;
use std::time::Duration;

use mcp_coord::config::Settings;
use mcp_coord::service::Event;
use serde_json::{Value, json};

use crate::support::client::{Client, call, connect_http, connect_sse};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

/// Tiers of 1 / 2 / 3 seconds (active < 1 s ≤ idle < 2 s ≤ stale < 3 s ≤ abandoned).
fn short_tiers(s: &mut Settings) {
    s.sessions.active_seconds = 1;
    s.sessions.idle_seconds = 2;
    s.sessions.stale_seconds = 3;
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status_of(observer: &Client, name: &str) -> Value {
    call(observer, "get_session_status", json!({ "session": name }))
        .await
        .ok()
        .clone()
}

async fn register(client: &Client, args: Value) -> Value {
    call(client, "register_session", args).await.ok().clone()
}

/// Every key but the audit log (which records what was tried, refusals included).
fn keys(redis: &RedisServer) -> BTreeSet<String> {
    let mut c = redis.conn();
    let all: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    all.into_iter().filter(|k| !k.ends_with(":audit")).collect()
}

#[tokio::test]
async fn every_tier_is_observable_and_the_reaper_ends_the_abandoned() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        short_tiers(s);
        s.sessions.reaper_interval_seconds = 600; // runs only when called below
    })
    .await;
    let mut events = d.coord().events().subscribe();
    let worker = connect_http(&d.mcp_url(), &[]).await;
    let observer = connect_sse(&d.sse_url(), &[]).await;
    let r = register(&worker, json!({ "name": "w1", "branch": "issue-4" })).await;
    assert_eq!(
        (r["name"].as_str(), r["tier"].as_str()),
        (Some("w1"), Some("active"))
    );
    assert_eq!(r["registered"], true);

    let mut seen: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.last().map(String::as_str) != Some("abandoned") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "tiers seen: {seen:?}"
        );
        let status = status_of(&observer, "w1").await["status"]
            .as_str()
            .unwrap()
            .to_string();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, ["active", "idle", "stale", "abandoned"]);
    let groups = call(&observer, "session_status", json!({}))
        .await
        .ok()
        .clone();
    assert_eq!(groups["abandoned"][0]["name"], "w1");
    assert_eq!(groups["thresholds"]["active_below_seconds"], 1);

    let report = d.coord().reap_once().await.unwrap();
    assert!(report.acted);
    assert_eq!(report.ended, vec!["w1".to_string()]);
    let ended = status_of(&observer, "w1").await;
    assert_eq!(ended["status"], "ended");
    assert!(ended["end_reason"].as_str().unwrap().contains("abandoned"));
    let mut c = redis.conn();
    let score: Option<f64> = ::redis::cmd("ZSCORE")
        .arg("claude:sessions:last_seen")
        .arg("w1")
        .query(&mut c)
        .unwrap();
    assert_eq!(score, None, "out of the liveness index");
    let mut got_end = false;
    while let Ok(e) = events.try_recv() {
        if matches!(&e, Event::SessionEnded { session, .. } if session == "w1") {
            got_end = true;
        }
    }
    assert!(got_end, "the end was published");
    assert!(
        d.coord().reap_once().await.unwrap().ended.is_empty(),
        "ended once"
    );

    // The agent comes back: its next tool call registers it again.
    call(&worker, "whoami", json!({})).await.ok();
    let back = status_of(&observer, "w1").await;
    assert_eq!(back["status"], "active");
    assert_eq!(back["branch"], "issue-4", "fields kept");
    d.stop().await;
}

#[tokio::test]
async fn the_background_reaper_ends_a_silent_session() {
    let mut d = TestDaemon::embedded(|s| {
        short_tiers(s);
        s.sessions.reaper_interval_seconds = 1;
    })
    .await;
    let gone = connect_http(&d.mcp_url(), &[("X-Coord-Session", "gone")]).await;
    call(&gone, "whoami", json!({})).await.ok();
    drop(gone);
    let observer = connect_http(&d.mcp_url(), &[]).await;
    let listed = call(&observer, "list_sessions", json!({}))
        .await
        .ok()
        .clone();
    let implicit = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "gone")
        .expect("implicitly registered by its first call")
        .clone();
    assert_eq!(implicit["registered"], false);
    let ended = eventually(10, "the reaper to end it", || {
        let observer = &observer;
        async move {
            let s = status_of(observer, "gone").await;
            (s["status"] == "ended").then_some(s)
        }
    })
    .await;
    assert!(ended["end_reason"].as_str().unwrap().contains("abandoned"));
    let all = call(&observer, "list_sessions", json!({}))
        .await
        .ok()
        .clone();
    assert!(
        all["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "gone")
    );
    let with_ended = call(&observer, "list_sessions", json!({ "include_ended": true }))
        .await
        .ok()
        .clone();
    assert!(
        with_ended["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "gone" && s["status"] == "ended")
    );
    assert!(d.coord().reaper_stats().counts().ended >= 1);
    d.stop().await;
}

#[tokio::test]
async fn end_session_ends_at_once() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = connect_http(&d.mcp_url(), &[]).await;
    let b = connect_sse(&d.sse_url(), &[]).await;
    register(&a, json!({ "name": "w1" })).await;
    assert!(keys(&redis).contains("claude:heartbeat:w1"));
    let ended = call(&a, "end_session", json!({})).await.ok().clone();
    assert_eq!(ended["status"], "ended");
    assert!(
        ended["end_reason"]
            .as_str()
            .unwrap()
            .contains("end_session")
    );
    let k = keys(&redis);
    assert!(!k.contains("claude:heartbeat:w1"));
    let mut c = redis.conn();
    let ended_at: Option<f64> = ::redis::cmd("ZSCORE")
        .arg("claude:sessions:ended")
        .arg("w1")
        .query(&mut c)
        .unwrap();
    assert!(ended_at.is_some());
    let raw: String = ::redis::cmd("GET")
        .arg("claude:sessions:w1")
        .query(&mut c)
        .unwrap();
    let record: Value = serde_json::from_str(&raw).unwrap();
    assert!(
        record["ended_at_ms"].is_i64(),
        "redis-cli GET shows it: {raw}"
    );
    let listed = call(&b, "list_sessions", json!({})).await.ok().clone();
    assert!(
        listed["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "w1")
    );
    assert_eq!(
        listed["total_count"],
        listed["sessions"].as_array().unwrap().len()
    );
    let again = call(&a, "end_session", json!({})).await;
    assert_eq!(again.err()["error"], "not_found");
    assert!(again.text.contains("nothing to end"));
    d.stop().await;
}

#[tokio::test]
async fn parents_by_name_and_explicit_and_status_reports_reach_the_parent() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let mut events = d.coord().events().subscribe();
    let master = connect_http(&d.mcp_url(), &[]).await;
    register(&master, json!({ "name": "master_project_web" })).await;
    let c1 = connect_sse(&format!("{}?session=child_web_task_1", d.sse_url()), &[]).await;
    // Bound by the URL and registered by its first call: the parent comes from the name.
    let who = call(
        &c1,
        "get_session_status",
        json!({ "session_id": "child_web_task_1" }),
    )
    .await
    .ok()
    .clone();
    assert_eq!(who["parent"], "master_project_web");
    assert_eq!(
        (
            who["role"].as_str(),
            who["project"].as_str(),
            who["task"].as_str()
        ),
        (Some("child"), Some("web"), Some("1"))
    );
    let helper = connect_http(&d.mcp_url(), &[]).await;
    let h = register(
        &helper,
        json!({ "name": "helper", "parent": "master_project_web" }),
    )
    .await;
    assert_eq!(
        (h["parent"].as_str(), h["role"].as_str()),
        (Some("master_project_web"), Some("child"))
    );
    let other = connect_http(&d.mcp_url(), &[]).await;
    let o = register(
        &other,
        json!({ "name": "child_web_task_2", "parent": "lead" }),
    )
    .await;
    assert_eq!(o["parent"], "lead", "an explicit parent overrides the name");

    let r = call(
        &c1,
        "report_session_status",
        json!({ "state": "working", "progress": 50, "summary": "running tests" }),
    )
    .await
    .ok()
    .clone();
    assert_eq!(r["state"], "working");
    let kids = call(&master, "get_child_sessions", json!({}))
        .await
        .ok()
        .clone();
    assert_eq!(kids["parent"], "master_project_web");
    let names: Vec<_> = kids["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["child_web_task_1", "helper"]);
    let c = &kids["children"][0];
    assert_eq!(
        (
            c["state"].as_str(),
            c["progress"].as_i64(),
            c["summary"].as_str(),
            c["tier"].as_str()
        ),
        (
            Some("working"),
            Some(50),
            Some("running tests"),
            Some("active")
        )
    );
    assert!(c["last_seen_ms"].is_i64());
    let mut reported = None;
    while let Ok(e) = events.try_recv() {
        if let Event::StatusReported {
            session,
            parent,
            report,
        } = e
        {
            reported = Some((session, parent, report.progress));
        }
    }
    assert_eq!(
        reported,
        Some((
            "child_web_task_1".into(),
            Some("master_project_web".into()),
            Some(50)
        ))
    );

    // Seed 000's explicit link, from the master, for a child that has not connected yet.
    let rel = call(
        &master,
        "register_session_relationship",
        json!({ "master_session": "master_project_web", "child_session": "child_web_task_9" }),
    )
    .await
    .ok()
    .clone();
    assert_eq!(rel["child"]["parent"], "master_project_web");
    let stranger = call(
        &other,
        "register_session_relationship",
        json!({ "master_session": "master_project_web", "child_session": "helper" }),
    )
    .await;
    assert_eq!(stranger.err()["error"], "forbidden");
    // The pre-registered child connects and takes its name.
    let c9 = connect_http(&d.mcp_url(), &[]).await;
    let taken = register(&c9, json!({ "name": "child_web_task_9" })).await;
    assert_eq!(taken["parent"], "master_project_web");
    d.stop().await;
}

#[tokio::test]
async fn child_and_depth_limits_are_refused_clearly() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| s.sessions.max_children = 2).await;
    let master = connect_http(&d.mcp_url(), &[]).await;
    register(&master, json!({ "name": "master_project_web" })).await;
    let mut kids = Vec::new();
    for i in 1..=2 {
        let k = connect_http(&d.mcp_url(), &[]).await;
        register(&k, json!({ "name": format!("child_web_task_{i}") })).await;
        kids.push(k);
    }
    let third = connect_http(&d.mcp_url(), &[]).await;
    let refused = call(
        &third,
        "register_session",
        json!({ "name": "child_web_task_3" }),
    )
    .await;
    assert_eq!(refused.err()["error"], "limit");
    assert!(
        refused.text.contains("sessions.max_children"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("is 2"), "{}", refused.text);
    assert!(
        !keys(&redis).contains("claude:sessions:child_web_task_3"),
        "nothing written"
    );
    let deep = call(
        &third,
        "register_session",
        json!({ "name": "grandchild", "parent": "child_web_task_1" }),
    )
    .await;
    assert_eq!(deep.err()["error"], "limit");
    assert!(deep.text.contains("sessions.max_depth"), "{}", deep.text);
    // A child that ends frees its place.
    call(&kids[0], "end_session", json!({})).await.ok();
    register(&third, json!({ "name": "child_web_task_3" })).await;
    d.stop().await;
}

#[tokio::test]
async fn status_history_is_capped() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| s.sessions.status_history = 3).await;
    let w = connect_http(&d.mcp_url(), &[("X-Coord-Session", "w1")]).await;
    for p in [10, 20, 30, 40, 50] {
        call(
            &w,
            "report_session_status",
            json!({ "state": "working", "progress": p }),
        )
        .await
        .ok();
    }
    call(&w, "report_session_status", json!({ "state": "done" }))
        .await
        .ok();
    let s = status_of(&w, "w1").await;
    assert_eq!(s["state"], "done");
    let recent: Vec<_> = s["recent_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap().to_string() + &r["progress"].to_string())
        .collect();
    assert_eq!(recent, ["donenull", "working50", "working40"]);
    let mut c = redis.conn();
    let len: i64 = ::redis::cmd("LLEN")
        .arg("claude:sessions:history:w1")
        .query(&mut c)
        .unwrap();
    assert_eq!(len, 3);
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg("claude:sessions:history:w1")
        .query(&mut c)
        .unwrap();
    assert!(ttl > 0, "history expires with retention");
    d.stop().await;
}

#[tokio::test]
async fn a_name_in_use_by_another_connection_is_refused() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |s| {
        s.sessions.active_seconds = 2;
        s.sessions.idle_seconds = 3;
        s.sessions.stale_seconds = 4;
    })
    .await;
    let a = connect_http(&d.mcp_url(), &[]).await;
    let b = connect_sse(&d.sse_url(), &[]).await;
    let b_generated = call(&b, "whoami", json!({})).await.ok()["session"]
        .as_str()
        .unwrap()
        .to_string();
    register(&a, json!({ "name": "w1" })).await;
    let taken = call(&b, "register_session", json!({ "name": "w1" })).await;
    // The claim check of issue 16 refuses it (a live session is only acted as by its own
    // connection or with its credential).
    assert_eq!(taken.err()["error"], "unauthorized_session");
    assert!(
        taken.text.contains("session w1 is in use"),
        "{}",
        taken.text
    );
    assert!(taken.text.contains("end_session"), "{}", taken.text);
    assert_eq!(taken.json["tier"], "active");
    assert_eq!(
        call(&b, "whoami", json!({})).await.ok()["session"],
        b_generated.as_str(),
        "still itself"
    );
    // Idempotent for the owner; but one connection is one session.
    register(&a, json!({ "name": "w1", "cwd": "/tmp/w1" })).await;
    let switch = call(&a, "register_session", json!({ "name": "w2" })).await;
    assert_eq!(switch.err()["error"], "forbidden");
    assert!(
        switch.text.contains("one connection acts as one session"),
        "{}",
        switch.text
    );
    let header = connect_http(&d.mcp_url(), &[("X-Coord-Session", "w3")]).await;
    assert_eq!(
        call(&header, "register_session", json!({ "name": "w4" }))
            .await
            .err()["error"],
        "forbidden"
    );
    let seed_form = register(
        &header,
        json!({ "metadata": { "purpose": "seed 001 form" } }),
    )
    .await;
    assert_eq!(
        (
            seed_form["name"].as_str(),
            seed_form["metadata"]["purpose"].as_str()
        ),
        (Some("w3"), Some("seed 001 form"))
    );

    // Once w1 has been quiet past the active threshold, another connection may take it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let took = register(&b, json!({ "name": "w1" })).await;
    assert_eq!(took["cwd"], "/tmp/w1", "same session, new connection");
    assert_eq!(took["replaced"], b_generated.as_str());
    assert_eq!(call(&b, "whoami", json!({})).await.ok()["session"], "w1");
    assert_eq!(
        status_of(&b, &b_generated).await["status"],
        "ended",
        "its generated session ended"
    );
    d.stop().await;
}

#[tokio::test]
async fn two_daemons_on_one_redis_reap_each_session_once() {
    let redis = RedisServer::start();
    let tweak = |s: &mut Settings| {
        short_tiers(s);
        s.sessions.reaper_interval_seconds = 1;
    };
    let mut d1 = TestDaemon::on_redis(&redis, tweak).await;
    let mut d2 = TestDaemon::on_redis(&redis, tweak).await;
    let mut e1 = d1.coord().events().subscribe();
    let mut e2 = d2.coord().events().subscribe();
    let names: Vec<String> = (0..4).map(|i| format!("gone-{i}")).collect();
    for name in &names {
        let url = if name.ends_with('1') {
            d2.mcp_url()
        } else {
            d1.mcp_url()
        };
        let c = connect_http(&url, &[("X-Coord-Session", name)]).await;
        call(&c, "whoami", json!({})).await.ok();
    }
    // The reapers count an end after the store recorded it: wait for both.
    eventually(15, "all four ended", || {
        let (redis, d1, d2) = (&redis, &d1, &d2);
        async move {
            let ended: i64 = ::redis::cmd("ZCARD")
                .arg("claude:sessions:ended")
                .query(&mut redis.conn())
                .unwrap();
            let counted =
                d1.coord().reaper_stats().counts().ended + d2.coord().reaper_stats().counts().ended;
            (ended == 4 && counted == 4).then_some(())
        }
    })
    .await;
    let (s1, s2) = (
        d1.coord().reaper_stats().counts(),
        d2.coord().reaper_stats().counts(),
    );
    assert_eq!(s1.ended + s2.ended, 4, "each ended once: {s1:?} {s2:?}");
    assert!(
        s1.skipped + s2.skipped > 0,
        "the reaper lock kept one of them out: {s1:?} {s2:?}"
    );
    // Events travel between daemons on one Redis: each daemon's bus carries every end
    // exactly once, whichever daemon's reaper ended it.
    for rx in [&mut e1, &mut e2] {
        let mut ends = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while ends.len() < names.len() && tokio::time::Instant::now() < deadline {
            if let Ok(Ok(Event::SessionEnded { session, .. })) =
                tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
            {
                ends.push(session);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        while let Ok(e) = rx.try_recv() {
            if let Event::SessionEnded { session, .. } = e {
                ends.push(session);
            }
        }
        ends.sort();
        assert_eq!(ends, names, "one end event per session on each daemon");
    }
    d1.stop().await;
    d2.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_creates_no_keys() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let c = connect_http(&d.mcp_url(), &[]).await;
    call(&c, "whoami", json!({})).await.ok();
    let before = keys(&redis);
    let cases = [
        ("register_session", json!({ "name": "bad name" }), "allowed"),
        (
            "register_session",
            json!({ "name": "x".repeat(129) }),
            "limit",
        ),
        (
            "register_session",
            json!({ "name": "last_seen" }),
            "reserved",
        ),
        (
            "register_session",
            json!({ "name": "ok", "role": "boss" }),
            "master, child or agent",
        ),
        (
            "register_session",
            json!({ "name": "ok", "project": "a b" }),
            "project",
        ),
        (
            "register_session",
            json!({ "name": "ok", "parent": "a*b" }),
            "parent",
        ),
        (
            "register_session",
            json!({ "name": "ok", "parent": "ok" }),
            "own parent",
        ),
        (
            "register_session",
            json!({ "name": "ok", "metadata": [1, 2] }),
            "JSON object",
        ),
        (
            "register_session",
            json!({ "name": "ok", "metadata": { "blob": "x".repeat(5000) } }),
            "4096",
        ),
        (
            "register_session",
            json!({ "name": "ok", "cwd": "x".repeat(2000) }),
            "cwd",
        ),
        (
            "report_session_status",
            json!({ "state": "sleeping" }),
            "starting, working",
        ),
        (
            "report_session_status",
            json!({ "state": "working", "progress": 101 }),
            "0 to 100",
        ),
        (
            "report_session_status",
            json!({ "state": "working", "progress": -1 }),
            "0 to 100",
        ),
        ("get_session_status", json!({ "session": "a*b" }), "allowed"),
        (
            "get_session_status",
            json!({ "session": "nobody" }),
            "no session named nobody",
        ),
        ("get_child_sessions", json!({ "parent": "../x" }), "allowed"),
        (
            "register_session_relationship",
            json!({ "master_session": "m", "child_session": "m" }),
            "own parent",
        ),
        (
            "register_session_relationship",
            json!({ "master_session": "m", "child_session": "c" }),
            "only m or c",
        ),
    ];
    for (tool, args, needle) in cases {
        let out = call(&c, tool, args.clone()).await;
        assert!(
            out.is_error,
            "{tool} {args}: expected an error, got {}",
            out.text
        );
        assert!(
            out.text.contains(needle),
            "{tool} {args}: {:?} lacks {needle:?}",
            out.text
        );
    }
    assert_eq!(keys(&redis), before, "refusals create no keys");
    d.stop().await;
}

/// DESIGN "Locks": an ended session's locks are released at once, and waiters get them.
#[tokio::test]
async fn end_session_releases_its_locks_at_once() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let a = connect_http(&d.mcp_url(), &[("X-Coord-Session", "holder-a")]).await;
    let b = connect_http(&d.mcp_url(), &[("X-Coord-Session", "waiter-b")]).await;
    call(&a, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    call(&a, "acquire_lock", json!({"lock_name": "wave:5c"}))
        .await
        .ok();
    assert!(
        call(&b, "acquire_lock", json!({"lock_name": "pytest"}))
            .await
            .is_error
    );

    let ended = call(&a, "end_session", json!({})).await.ok().clone();
    let released: BTreeSet<String> = ended["locks_released"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        released,
        BTreeSet::from(["resource:pytest".to_string(), "wave:5c".to_string()])
    );
    let mut conn = redis.conn();
    let held: Option<String> = redis::cmd("GET")
        .arg("claude:locks:resource:pytest")
        .query(&mut conn)
        .unwrap();
    assert_eq!(held, None, "the key is gone, not merely takeable");
    let granted = call(&b, "acquire_lock", json!({"lock_name": "pytest"}))
        .await
        .ok()
        .clone();
    assert_eq!(granted["lock"], "resource:pytest");
    d.stop().await;
}

/// The reaper ends an abandoned holder and frees its lock, on both stores.
#[tokio::test]
async fn the_reaper_frees_an_abandoned_holders_locks() {
    for embedded in [false, true] {
        let redis = RedisServer::start();
        let mut d = if embedded {
            TestDaemon::embedded(short_tiers).await
        } else {
            TestDaemon::on_redis(&redis, short_tiers).await
        };
        let a = connect_http(&d.mcp_url(), &[("X-Coord-Session", "sleepy")]).await;
        call(
            &a,
            "acquire_lock",
            json!({"lock_name": "pr-create", "timeout_seconds": 600}),
        )
        .await
        .ok();
        tokio::time::sleep(Duration::from_millis(3200)).await;
        let report = d.coord().reap_once().await.unwrap();
        assert!(report.ended.contains(&"sleepy".to_string()), "{report:?}");
        assert_eq!(
            report.locks_released,
            vec!["resource:pr-create".to_string()],
            "embedded={embedded}"
        );
        let b = connect_http(&d.mcp_url(), &[("X-Coord-Session", "fresh")]).await;
        let check = call(&b, "check_lock", json!({"lock_name": "pr-create"}))
            .await
            .ok()
            .clone();
        assert_eq!(check["free"], true, "{check}");
        let metrics = reqwest::get(format!("{}/metrics", d.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.lines().any(
                |l| l.starts_with("mcp_coord_reaper_actions_total{action=\"lock_released\"} 1")
            ),
            "{metrics}"
        );
        d.stop().await;
    }
}
