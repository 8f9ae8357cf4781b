//! Issue 7: the embedded store persists across restarts, never hands out a fencing token
//! twice (even after a crash), and is the zero-setup default.

use mcp_coord::store::locks::AcquireOutcome;
use mcp_coord::store::memory::MemoryStore;
use mcp_coord::store::{LockStore, Store};
use serde_json::json;

use crate::support::client::{call, connect_http, hook_credential, try_connect_as};
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
    // With its credential, so that it is still "keeper" after the restart (issue 16).
    let a = try_connect_as(&d.base, "keeper").await.unwrap();
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
    let credential = hook_credential(&d.base, "keeper").expect("issued");
    let k = connect_http(
        &again.mcp_url(),
        &[
            ("X-Coord-Session", "keeper"),
            ("X-Coord-Credential", &credential),
        ],
    )
    .await;
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
async fn fencing_tokens_never_repeat_after_a_restart_or_a_wiped_file() {
    let settings = test_settings();
    let dir = std::path::PathBuf::from(&settings.store.data_dir);

    let store = MemoryStore::open(&settings, &dir).await.unwrap();
    let mut seen = vec![token(&store, "pytest").await, token(&store, "pytest").await];
    store.shutdown().await.unwrap();
    drop(store);

    let store = MemoryStore::open(&settings, &dir).await.unwrap();
    seen.push(token(&store, "pytest").await);
    drop(store);

    // The file is lost (deleted, a fresh disk): the counters are gone, the clock is not.
    // Tokens carry the clock in milliseconds, so a restart at least a millisecond after the
    // last grant is enough.
    for f in ["state.db", "state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let store = MemoryStore::open(&settings, &dir).await.unwrap();
    let after = token(&store, "pytest").await;
    assert!(
        seen.iter().all(|t| after > *t),
        "token {after} after losing the file must be above every earlier one: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[1] > w[0]), "{seen:?}");
    assert!(after < 1 << 53, "tokens stay JSON-safe integers: {after}");
}

/// A restart in the same process while a task of the old daemon still holds its store (a
/// connection winding down): the store's shutdown lets the directory go, so the new daemon
/// starts, with what the old one committed. (This raced in `a_restart_keeps_sessions_and_locks`
/// before: the claim lived as long as the last reference.)
#[tokio::test]
async fn a_shut_down_store_frees_its_directory_while_still_referenced() {
    let settings = test_settings();
    let dir = std::path::PathBuf::from(&settings.store.data_dir);
    let old = MemoryStore::open(&settings, &dir).await.unwrap();
    let before = token(&old, "pytest").await;
    old.shutdown().await.unwrap();
    let new = MemoryStore::open(&settings, &dir)
        .await
        .expect("the shut-down store no longer claims the directory");
    assert!(token(&new, "pytest").await > before);
    let refused = old
        .acquire(&crate::conformance::locks::req("late", "old-holder"))
        .await;
    assert!(
        refused.is_err(),
        "the old store takes no more changes: {refused:?}"
    );
    drop(old);
    assert!(
        MemoryStore::open(&settings, &dir).await.is_err(),
        "the new store still holds the directory after the old one is dropped"
    );
}

/// The first start with a `state.json` from the release before the SQLite store (this
/// fixture was written by that release's daemon: three locks, three sessions, three
/// messages) moves everything into `state.db` and keeps the snapshot as a backup.
#[tokio::test]
async fn an_old_snapshot_is_migrated_on_the_first_start() {
    let settings = test_settings();
    let dir = std::path::PathBuf::from(&settings.store.data_dir);
    std::fs::copy("tests/it/fixtures/state-v1.json", dir.join("state.json")).unwrap();

    let store = MemoryStore::open(&settings, &dir).await.unwrap();
    assert!(!dir.join("state.json").exists());
    assert!(dir.join("state.json.migrated").exists());
    // Its holder gives it back (it may not have expired yet), then it is granted again.
    let tiers = crate::conformance::locks::req("wave:5c.1", "other").tiers;
    store.release("wave:5c.1", "other", tiers).await.unwrap();
    let next = token(&store, "wave:5c.1").await;
    assert!(next > 2, "tokens go on above the migrated counter: {next}");
    drop(store);

    // What a user sees with sqlite3: the records as rows.
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM locks"),
        2,
        "3 migrated, 1 released"
    );
    assert_eq!(
        count("SELECT count(*) FROM locks WHERE value->>'holder' = 'crashy'"),
        2
    );
    assert_eq!(count("SELECT count(*) FROM fences"), 3);
    assert_eq!(count("SELECT count(*) FROM sessions"), 3);
    assert_eq!(
        count("SELECT count(*) FROM messages WHERE recipient = 'other'"),
        2
    );
    let body: String = db
        .query_row(
            "SELECT value->>'body' FROM messages WHERE recipient = 'crashy'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(body, "reply-ish");
    drop(db);

    // A second start reads the file and does not migrate again.
    let store = MemoryStore::open(&settings, &dir).await.unwrap();
    assert!(token(&store, "wave:5c.1").await > next);
}
