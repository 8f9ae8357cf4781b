//! Issue 7: the embedded store persists across restarts, never hands out a fencing token
//! twice (even after a crash), and is the zero-setup default.

use mcp_coord::store::Store;
use mcp_coord::store::locks::AcquireOutcome;
use mcp_coord::store::memory::MemoryStore;
use serde_json::json;

use crate::support::client::{call, connect_http};
use crate::support::daemon::{TestDaemon, test_settings};

/// Grants `name` and gives it back; returns the token.
async fn token(store: &dyn Store, name: &str) -> u64 {
    let req = crate::conformance::locks::req(name, "s");
    let token = match store.acquire(&req).await.unwrap() {
        AcquireOutcome::Granted(g) => g.lock.token,
        AcquireOutcome::Refused(r) => panic!("refused: {r:?}"),
    };
    store.release(&req.name, "s", req.tiers).await.unwrap();
    token
}

#[tokio::test]
async fn a_restart_keeps_sessions_and_locks() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let dir = d.coord().settings().store.data_dir.clone();
    let a = connect_http(&d.mcp_url(), &[("X-Coord-Session", "keeper")]).await;
    call(
        &a,
        "register_session",
        json!({"branch": "issue-9-x", "project": "web"}),
    )
    .await
    .ok();
    let first = call(
        &a,
        "acquire_lock",
        json!({"lock_name": "pytest", "timeout_seconds": 600}),
    )
    .await;
    let t1 = first.ok()["token"].as_u64().unwrap();
    d.stop().await;
    drop(a);

    let mut again = TestDaemon::embedded(|s| s.store.data_dir = dir.clone()).await;
    let b = connect_http(&again.mcp_url(), &[("X-Coord-Session", "other")]).await;
    let check = call(&b, "check_lock", json!({"lock_name": "pytest"})).await;
    assert_eq!(check.ok()["held"]["holder"], "keeper", "{}", check.text);
    assert_eq!(check.ok()["held"]["token"], t1);
    let status = call(&b, "get_session_status", json!({"session": "keeper"})).await;
    assert_eq!(status.ok()["branch"], "issue-9-x", "{}", status.text);
    let k = connect_http(&again.mcp_url(), &[("X-Coord-Session", "keeper")]).await;
    call(&k, "release_lock", json!({"lock_name": "pytest"}))
        .await
        .ok();
    let next = call(&b, "acquire_lock", json!({"lock_name": "pytest"})).await;
    assert!(
        next.ok()["token"].as_u64().unwrap() > t1,
        "after a clean restart tokens go on"
    );
    again.stop().await;
}

#[tokio::test]
async fn fencing_tokens_never_repeat_after_a_crash() {
    let settings = test_settings();
    let dir = std::path::PathBuf::from(&settings.store.data_dir);

    // A run that stops in order: its final snapshot is exact.
    let store = MemoryStore::open(&settings, &dir).unwrap();
    let mut seen = vec![token(&store, "pytest").await, token(&store, "pytest").await];
    store.shutdown().await.unwrap();
    drop(store);

    // A run that crashes: two grants happen after its last snapshot.
    let store = MemoryStore::open(&settings, &dir).unwrap();
    seen.push(token(&store, "pytest").await);
    assert_eq!(
        seen[2],
        seen[1] + 1,
        "after a clean stop tokens simply go on"
    );
    store.snapshot().unwrap();
    seen.push(token(&store, "pytest").await);
    seen.push(token(&store, "pytest").await);
    drop(store);

    let store = MemoryStore::open(&settings, &dir).unwrap();
    let after = token(&store, "pytest").await;
    assert!(
        seen.iter().all(|t| after > *t),
        "token {after} after the crash must be above every earlier one: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[1] > w[0]), "{seen:?}");
    // And a lock never granted before starts above the crashed run's tokens too.
    assert!(token(&store, "pr-create").await > 1 << 32);
}
