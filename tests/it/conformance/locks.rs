//! Lock behaviours both stores must share. Holder tiers are steered through the thresholds
//! passed with each request (a 0 ms threshold ages every holder past it), so no test sleeps
//! for a tier.

use std::sync::Arc;
use std::time::Duration;

use mcp_coord::domain::lock_name::LockName;
use mcp_coord::domain::tiers::{Tier, TierThresholds};
use mcp_coord::store::Store;
use mcp_coord::store::locks::{
    AcquireOutcome, AcquireRequest, ExtendOutcome, ExtendRequest, Grant, Refusal, RefusalKind,
    ReleaseOutcome, Waiter,
};

const HOUR: i64 = 3_600_000;
const NORMAL: TierThresholds = TierThresholds {
    active_ms: HOUR,
    idle_ms: 2 * HOUR,
    stale_ms: 3 * HOUR,
};
/// Every holder counts as idle (seen ≥ 0 ms ago).
const ALL_IDLE: TierThresholds = TierThresholds {
    active_ms: 0,
    idle_ms: HOUR,
    stale_ms: 2 * HOUR,
};
const ALL_STALE: TierThresholds = TierThresholds {
    active_ms: 0,
    idle_ms: 0,
    stale_ms: HOUR,
};
const ALL_ABANDONED: TierThresholds = TierThresholds {
    active_ms: 0,
    idle_ms: 0,
    stale_ms: 0,
};

pub(crate) fn req(name: &str, session: &str) -> AcquireRequest {
    let n = LockName::parse(name, None).unwrap();
    AcquireRequest {
        name: n.as_str().to_string(),
        ancestors: n.ancestors(),
        descendant_prefix: n.descendant_prefix(),
        session: session.to_string(),
        ttl_ms: 60_000,
        reason: None,
        force: false,
        tiers: NORMAL,
        lock_delay_ms: 0,
        waiter: None,
    }
}

/// Extends `resource:pytest` for `session`.
fn extend_req(session: &str, ttl_ms: i64) -> ExtendRequest {
    ExtendRequest {
        name: "resource:pytest".into(),
        session: session.into(),
        ttl_ms,
        tiers: NORMAL,
    }
}

async fn grant(store: &Arc<dyn Store>, r: &AcquireRequest) -> Grant {
    match store.acquire(r).await.unwrap() {
        AcquireOutcome::Granted(g) => g,
        AcquireOutcome::Refused(r) => panic!("expected a grant, got {r:?}"),
    }
}

async fn refusal(store: &Arc<dyn Store>, r: &AcquireRequest) -> Refusal {
    match store.acquire(r).await.unwrap() {
        AcquireOutcome::Refused(r) => r,
        AcquireOutcome::Granted(g) => panic!("expected a refusal, got {g:?}"),
    }
}

pub async fn exclusion_and_owner_only_release(store: Arc<dyn Store>) {
    let a = grant(&store, &req("pytest", "a")).await;
    assert_eq!(a.lock.name, "resource:pytest");
    assert!(!a.reentrant);
    let r = refusal(&store, &req("pytest", "b")).await;
    assert_eq!(r.refusal, RefusalKind::Held);
    let h = r.holder.unwrap();
    assert_eq!(h.lock.holder, "a");
    assert_eq!(h.tier, Some(Tier::Active));
    match store.release("resource:pytest", "b", NORMAL).await.unwrap() {
        ReleaseOutcome::NotOwner { holder, .. } => assert_eq!(holder.lock.holder, "a"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.release("resource:pytest", "a", NORMAL).await.unwrap(),
        ReleaseOutcome::Released { .. }
    ));
    assert!(matches!(
        store.release("resource:pytest", "a", NORMAL).await.unwrap(),
        ReleaseOutcome::NotHeld { note: None, .. }
    ));
    let b = grant(&store, &req("pytest", "b")).await;
    assert!(b.lock.token > a.lock.token, "tokens increase");
}

pub async fn reentrant_keeps_token_and_extends(store: Arc<dyn Store>) {
    let mut r = req("issue:42", "a");
    r.ttl_ms = 5_000;
    let first = grant(&store, &r).await;
    r.ttl_ms = 60_000;
    r.reason = Some("again".into());
    let again = grant(&store, &r).await;
    assert!(again.reentrant);
    assert_eq!(again.lock.token, first.lock.token);
    assert_eq!(again.lock.acquired_at, first.lock.acquired_at);
    assert!(again.lock.expires_at > first.lock.expires_at);
    assert_eq!(again.lock.reason.as_deref(), Some("again"));
    // A shorter TTL never shortens a held lock.
    r.ttl_ms = 1_000;
    let third = grant(&store, &r).await;
    assert_eq!(third.lock.expires_at, again.lock.expires_at);
}

pub async fn hierarchy_conflicts_both_ways(store: Arc<dyn Store>) {
    for (parent, child) in [
        ("wave:5c", "wave:5c.1"),
        ("path:src/auth", "path:src/auth/login.rs"),
    ] {
        grant(&store, &req(parent, "a")).await;
        let r = refusal(&store, &req(child, "b")).await;
        assert_eq!(r.refusal, RefusalKind::Related, "{child} under {parent}");
        assert_eq!(r.related_lock.as_deref(), Some(parent));
        // The holder itself may take a descendant.
        grant(&store, &req(child, "a")).await;
        store.release(parent, "a", NORMAL).await.unwrap();
        store.release(child, "a", NORMAL).await.unwrap();

        grant(&store, &req(child, "a")).await;
        let r = refusal(&store, &req(parent, "b")).await;
        assert_eq!(r.refusal, RefusalKind::Related, "{parent} over {child}");
        assert_eq!(r.related_lock.as_deref(), Some(child));
        store.release(child, "a", NORMAL).await.unwrap();
        grant(&store, &req(parent, "b")).await;
        store.release(parent, "b", NORMAL).await.unwrap();
    }
    // Siblings and look-alikes do not conflict.
    grant(&store, &req("wave:5c.1", "a")).await;
    grant(&store, &req("wave:5c.2", "b")).await;
    grant(&store, &req("wave:5c1", "b")).await;
    grant(&store, &req("path:src/authx", "b")).await;
    grant(&store, &req("issue:5", "b")).await;
}

pub async fn ttl_expiry_frees(store: Arc<dyn Store>) {
    let mut r = req("pytest", "a");
    r.ttl_ms = 300;
    grant(&store, &r).await;
    refusal(&store, &req("pytest", "b")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = grant(&store, &req("pytest", "b")).await;
    assert!(
        b.taken_over_from.is_none(),
        "an expired lock is simply free"
    );
    let listing = store.list(NORMAL).await.unwrap();
    assert_eq!(listing.locks.len(), 1, "{listing:?}");
    assert_eq!(listing.locks[0].lock.holder, "b");
}

pub async fn extend_is_owner_only(store: Arc<dyn Store>) {
    let g = grant(&store, &req("pytest", "a")).await;
    match store.extend(&extend_req("b", 600_000)).await.unwrap() {
        ExtendOutcome::NotOwner { holder, .. } => assert_eq!(holder.lock.holder, "a"),
        other => panic!("{other:?}"),
    }
    match store.extend(&extend_req("a", 600_000)).await.unwrap() {
        ExtendOutcome::Extended { lock, now_ms } => {
            assert_eq!(lock.token, g.lock.token);
            assert!(lock.expires_at >= now_ms + 599_000);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store
            .extend(&ExtendRequest {
                name: "resource:nothing".into(),
                ..extend_req("a", 1000)
            })
            .await
            .unwrap(),
        ExtendOutcome::NotHeld { .. }
    ));
}

pub async fn idle_holder_is_refused_and_stale_needs_force(store: Arc<dyn Store>) {
    let a = grant(&store, &req("pytest", "a")).await;
    let mut b = req("pytest", "b");
    b.tiers = ALL_IDLE;
    b.force = true;
    let r = refusal(&store, &b).await;
    assert_eq!(
        r.holder.unwrap().tier,
        Some(Tier::Idle),
        "force does not beat idle"
    );

    b.tiers = ALL_STALE;
    b.force = false;
    let r = refusal(&store, &b).await;
    assert_eq!(r.holder.unwrap().tier, Some(Tier::Stale));

    b.force = true;
    b.lock_delay_ms = 60_000;
    let g = grant(&store, &b).await;
    assert!(g.lock.token > a.lock.token);
    let from = g.taken_over_from.expect("a takeover");
    assert_eq!(from.lock.holder, "a");
    assert!(g.delay_until.is_some());

    // The old holder is told, on release, extend and check.
    match store.release("resource:pytest", "a", NORMAL).await.unwrap() {
        ReleaseOutcome::NotOwner { note: Some(n), .. } => {
            assert_eq!(n.by, "b");
            assert_eq!(n.old_token, a.lock.token);
            assert_eq!(n.your_tier, Some(Tier::Stale));
        }
        other => panic!("{other:?}"),
    }
    let status = store.check("resource:pytest", "a", NORMAL).await.unwrap();
    assert_eq!(status.note.unwrap().by, "b");

    // Lock-delay: b releases early, yet only b may take it again during the delay.
    store.release("resource:pytest", "b", NORMAL).await.unwrap();
    let r = refusal(&store, &req("pytest", "c")).await;
    assert_eq!(r.refusal, RefusalKind::LockDelay);
    assert_eq!(r.reserved_for.as_deref(), Some("b"));
    grant(&store, &req("pytest", "b")).await;
}

pub async fn abandoned_holder_is_free_without_force(store: Arc<dyn Store>) {
    grant(&store, &req("wave:7", "a")).await;
    let mut b = req("pytest", "b");
    b.tiers = ALL_ABANDONED;
    grant(&store, &req("pytest", "a")).await;
    let g = grant(&store, &b).await;
    assert_eq!(g.taken_over_from.unwrap().tier, Some(Tier::Abandoned));
    // Related locks of a dead holder are released for the grant too.
    let mut c = req("wave:7.1", "c");
    c.tiers = ALL_ABANDONED;
    let g = grant(&store, &c).await;
    assert_eq!(g.released_related.len(), 1);
    assert_eq!(g.released_related[0].lock.name, "wave:7");
}

pub async fn tokens_strictly_increase(store: Arc<dyn Store>) {
    let mut last = 0;
    for i in 0..20 {
        let who = format!("s{}", i % 3);
        let g = grant(&store, &req("pr-create", &who)).await;
        assert!(g.lock.token > last, "{} > {last}", g.lock.token);
        last = g.lock.token;
        store
            .release("resource:pr-create", &who, NORMAL)
            .await
            .unwrap();
    }
}

/// Tokens embed the store clock (`now_ms × 2^5` at least), so a store that lost its
/// counters still grants above every earlier token; a burst within one millisecond keeps
/// counting, and every token survives the JSON round trip of both stores exactly.
pub async fn tokens_embed_the_store_clock(store: Arc<dyn Store>) {
    use mcp_coord::store::locks::FENCE_CLOCK_BITS;
    let mut last = 0;
    for i in 0..40 {
        let who = format!("s{}", i % 2);
        let before = store.now_ms().await.unwrap() as u64;
        let g = grant(&store, &req("clocked", &who)).await;
        assert!(
            g.lock.token >= before << FENCE_CLOCK_BITS,
            "token {} below the clock {before} << {FENCE_CLOCK_BITS}",
            g.lock.token
        );
        assert!(g.lock.token > last, "{} > {last}", g.lock.token);
        assert!(g.lock.token < 100_000_000_000_000, "14 digits at most");
        last = g.lock.token;
        let check = store.check("resource:clocked", &who, NORMAL).await.unwrap();
        assert_eq!(check.held.unwrap().lock.token, last, "read back exactly");
        store
            .release("resource:clocked", &who, NORMAL)
            .await
            .unwrap();
    }
}

pub async fn waiters_are_served_in_order_and_dead_heads_skipped(store: Arc<dyn Store>) {
    grant(&store, &req("pytest", "a")).await;
    let waiting = |session: &str, id: &str, ttl_ms: i64| {
        let mut r = req("pytest", session);
        r.waiter = Some(Waiter {
            id: id.to_string(),
            ttl_ms,
        });
        r
    };
    let w1 = waiting("w1", "id1", 60_000);
    let w2 = waiting("w2", "id2", 60_000);
    let dead = waiting("ghost", "id-ghost", 50);
    assert_eq!(refusal(&store, &dead).await.queue_position, Some(1));
    assert_eq!(refusal(&store, &w1).await.queue_position, Some(2));
    let r = refusal(&store, &w2).await;
    assert_eq!((r.queue_position, r.queue_length), (Some(3), 3));
    // Asking again keeps the place.
    assert_eq!(refusal(&store, &w1).await.queue_position, Some(2));

    store.release("resource:pytest", "a", NORMAL).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Free, but queued waiters come first; w2 is not the head.
    let r = refusal(&store, &req("pytest", "latecomer")).await;
    assert_eq!(r.refusal, RefusalKind::Queued);
    assert_eq!(refusal(&store, &w2).await.refusal, RefusalKind::Queued);
    // The ghost's key has expired: w1 is granted past it.
    grant(&store, &w1).await;
    store
        .release("resource:pytest", "w1", NORMAL)
        .await
        .unwrap();
    let g = grant(&store, &w2).await;
    assert_eq!(g.lock.holder, "w2");
    assert_eq!(
        store
            .check("resource:pytest", "x", NORMAL)
            .await
            .unwrap()
            .waiters,
        0
    );

    // A waiter that leaves frees the way.
    let w3 = waiting("w3", "id3", 60_000);
    refusal(&store, &w3).await;
    store.leave_queue("resource:pytest", "id3").await.unwrap();
    store
        .release("resource:pytest", "w2", NORMAL)
        .await
        .unwrap();
    grant(&store, &req("pytest", "latecomer")).await;
}

pub async fn release_all_held_by_frees_only_that_session(store: Arc<dyn Store>) {
    let mut events = store.lock_events();
    grant(&store, &req("pytest", "a")).await;
    grant(&store, &req("issue:1", "a")).await;
    grant(&store, &req("issue:2", "b")).await;
    let mut short = req("issue:3", "a");
    short.ttl_ms = 50;
    grant(&store, &short).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let released = store.release_all_held_by("a", 0).await.unwrap();
    assert_eq!(released, vec!["issue:1", "resource:pytest"]);
    assert!(store.release_all_held_by("a", 0).await.unwrap().is_empty());
    let names: Vec<_> = store
        .list(NORMAL)
        .await
        .unwrap()
        .locks
        .into_iter()
        .map(|l| l.lock.name)
        .collect();
    assert_eq!(names, vec!["issue:2"]);
    // Waiters are woken by each release (the Redis subscriber connected during the sleep).
    let got = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(name) = events.recv().await {
                return name;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "release events are delivered");
}

pub async fn queues_list_waiters_in_order_and_lock_delays(store: Arc<dyn Store>) {
    grant(&store, &req("pytest", "a")).await;
    grant(&store, &req("issue:9", "a")).await;
    for (session, id, ttl_ms) in [
        ("w1", "q1", 60_000),
        ("ghost", "q-ghost", 50),
        ("w2", "q2", 60_000),
    ] {
        let mut r = req("pytest", session);
        r.waiter = Some(Waiter {
            id: id.to_string(),
            ttl_ms,
        });
        refusal(&store, &r).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let names = vec![
        "resource:pytest".to_string(),
        "issue:9".to_string(),
        "resource:never".to_string(),
    ];
    let q = store.queues(&names).await.unwrap();
    assert_eq!(q.len(), 1, "only locks with a queue or a lock-delay: {q:?}");
    assert_eq!(q[0].name, "resource:pytest");
    assert_eq!(
        q[0].waiters,
        vec!["w1", "w2"],
        "FIFO, the expired waiter left out"
    );
    assert_eq!(q[0].delay_until, None);

    // A takeover with a lock-delay shows the reservation.
    let mut b = req("issue:9", "b");
    b.tiers = ALL_STALE;
    b.force = true;
    b.lock_delay_ms = 60_000;
    let g = grant(&store, &b).await;
    let q = store.queues(&names[1..2]).await.unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].waiters, Vec::<String>::new());
    assert_eq!(q[0].delay_until, g.delay_until);
    assert_eq!(q[0].reserved_for.as_deref(), Some("b"));

    store.leave_queue("resource:pytest", "q1").await.unwrap();
    let q = store.queues(&names[..1]).await.unwrap();
    assert_eq!(q[0].waiters, vec!["w2"]);
    assert!(store.queues(&[]).await.unwrap().is_empty());
}

/// A listing's two reads: the held names (expired ones left out), then the records of the
/// names asked for, in that order, without the ones no longer held.
pub async fn held_names_and_one_page_of_records(store: Arc<dyn Store>) {
    for (name, holder) in [("b", "s1"), ("a", "s2"), ("c", "s1")] {
        grant(&store, &req(name, holder)).await;
    }
    let mut short = req("gone", "s3");
    short.ttl_ms = 200;
    grant(&store, &short).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut names = store.held_names().await.unwrap();
    names.sort();
    assert_eq!(names, ["resource:a", "resource:b", "resource:c"]);
    store.release("resource:b", "s1", NORMAL).await.unwrap();
    let page: Vec<String> = ["resource:c", "resource:b", "resource:a", "resource:gone"]
        .map(String::from)
        .into();
    let listing = store.held_locks(&page, NORMAL).await.unwrap();
    let got: Vec<(&str, &str)> = listing
        .locks
        .iter()
        .map(|h| (h.lock.name.as_str(), h.lock.holder.as_str()))
        .collect();
    assert_eq!(got, [("resource:c", "s1"), ("resource:a", "s2")]);
    assert!(
        store
            .held_locks(&[], NORMAL)
            .await
            .unwrap()
            .locks
            .is_empty()
    );
}

crate::conformance!(
    queues_list_waiters_in_order_and_lock_delays,
    exclusion_and_owner_only_release,
    reentrant_keeps_token_and_extends,
    hierarchy_conflicts_both_ways,
    ttl_expiry_frees,
    extend_is_owner_only,
    idle_holder_is_refused_and_stale_needs_force,
    abandoned_holder_is_free_without_force,
    tokens_strictly_increase,
    tokens_embed_the_store_clock,
    waiters_are_served_in_order_and_dead_heads_skipped,
    release_all_held_by_frees_only_that_session,
    held_names_and_one_page_of_records,
);
