//! An admin's force-release (`LockStore::force_release`) and the lock-delay an admin's end
//! of a session leaves (`release_all_held_by` with a delay), on both stores: the lock is
//! freed whoever holds it, the holder finds a `forced` note, nobody — not even the old
//! holder — is granted it during the delay, and the queue is served in order after it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_coord::domain::tiers::TierThresholds;
use mcp_coord::store::Store;
use mcp_coord::store::locks::{
    AcquireOutcome, ForceRelease, ForceReleaseOutcome, RefusalKind, ReleaseOutcome, Waiter,
};

use super::locks::req;

const HOUR: i64 = 3_600_000;
const NORMAL: TierThresholds = TierThresholds {
    active_ms: HOUR,
    idle_ms: 2 * HOUR,
    stale_ms: 3 * HOUR,
};

fn force(name: &str, delay_ms: i64) -> ForceRelease {
    ForceRelease {
        name: name.to_string(),
        by: "admin boss".to_string(),
        lock_delay_ms: delay_ms,
        tiers: NORMAL,
    }
}

async fn refused(
    store: &Arc<dyn Store>,
    r: &mcp_coord::store::locks::AcquireRequest,
) -> RefusalKind {
    match store.acquire(r).await.unwrap() {
        AcquireOutcome::Refused(r) => {
            if r.refusal == RefusalKind::LockDelay {
                assert_eq!(
                    r.reserved_for, None,
                    "a forced delay is reserved for nobody"
                );
                assert!(r.delay_until.is_some());
            }
            r.refusal
        }
        AcquireOutcome::Granted(g) => panic!("expected a refusal, got {g:?}"),
    }
}

pub async fn force_release_frees_tells_and_delays(store: Arc<dyn Store>) {
    let held = match store.acquire(&req("pytest", "a")).await.unwrap() {
        AcquireOutcome::Granted(g) => g.lock,
        other => panic!("{other:?}"),
    };
    let mut waiter = req("pytest", "w");
    waiter.waiter = Some(Waiter {
        id: "wq".into(),
        ttl_ms: 60_000,
    });
    assert_eq!(refused(&store, &waiter).await, RefusalKind::Held);

    let delay_ms = 400;
    let out = store
        .force_release(&force("resource:pytest", delay_ms))
        .await
        .unwrap();
    let (from, delay_until) = match out {
        ForceReleaseOutcome::Released {
            from,
            delay_until,
            now_ms,
        } => {
            assert_eq!(delay_until, Some(now_ms + delay_ms));
            (from, delay_until)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(from.lock.holder, "a");
    assert_eq!(from.lock.token, held.token);
    assert!(from.tier.is_some(), "the holder was live");

    // The holder's next look says what happened; so does its release.
    let seen = store.check("resource:pytest", "a", NORMAL).await.unwrap();
    assert!(seen.held.is_none());
    assert_eq!(seen.delay_until, delay_until);
    assert_eq!(seen.reserved_for, None);
    let note = seen.note.expect("the old holder has a note");
    assert!(note.forced && note.by == "admin boss" && note.old_token == held.token);
    match store.release("resource:pytest", "a", NORMAL).await.unwrap() {
        ReleaseOutcome::NotHeld { note: Some(n), .. } => assert!(n.forced),
        other => panic!("{other:?}"),
    }

    // During the delay nobody is granted it: a newcomer, the old holder, the waiter.
    assert_eq!(
        refused(&store, &req("pytest", "b")).await,
        RefusalKind::LockDelay
    );
    assert_eq!(
        refused(&store, &req("pytest", "a")).await,
        RefusalKind::LockDelay
    );
    assert_eq!(refused(&store, &waiter).await, RefusalKind::LockDelay);

    // After it, the queue is served in order: the waiter first, not the newcomer.
    let deadline = Instant::now() + Duration::from_secs(10);
    let granted = loop {
        assert!(Instant::now() < deadline, "the waiter was never granted");
        match store.acquire(&waiter).await.unwrap() {
            AcquireOutcome::Granted(g) => break g,
            AcquireOutcome::Refused(r) => {
                assert_eq!(r.refusal, RefusalKind::LockDelay, "{r:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert!(
        granted.lock.token > held.token,
        "a new, higher fencing token"
    );
    assert!(granted.now_ms >= delay_until.unwrap());

    // Nothing held: nothing changes.
    assert!(matches!(
        store
            .force_release(&force("issue:404", delay_ms))
            .await
            .unwrap(),
        ForceReleaseOutcome::NotHeld { .. }
    ));
    assert_eq!(
        store
            .check("issue:404", "b", NORMAL)
            .await
            .unwrap()
            .delay_until,
        None,
        "no delay on a lock that was not held"
    );
}

pub async fn release_all_with_a_delay_reserves_for_nobody(store: Arc<dyn Store>) {
    assert!(matches!(
        store.acquire(&req("issue:5", "c")).await.unwrap(),
        AcquireOutcome::Granted(_)
    ));
    let released = store.release_all_held_by("c", 60_000).await.unwrap();
    assert_eq!(released, vec!["issue:5"]);
    assert_eq!(
        refused(&store, &req("issue:5", "d")).await,
        RefusalKind::LockDelay
    );
    assert_eq!(
        refused(&store, &req("issue:5", "c")).await,
        RefusalKind::LockDelay
    );
    let q = store.queues(&["issue:5".to_string()]).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].reserved_for, None);
    assert!(q[0].delay_until.is_some());
}

crate::conformance!(
    force_release_frees_tells_and_delays,
    release_all_with_a_delay_reserves_for_nobody,
);
