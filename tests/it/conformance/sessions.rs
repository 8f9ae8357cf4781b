//! Session store behaviours, run against Redis and the embedded store alike.

use std::sync::Arc;
use std::time::Duration;

use mcp_coord::domain::hierarchy::PlacementRefusal;
use mcp_coord::domain::session::{Role, SessionEntry, SessionRecord, StatusReport};
use mcp_coord::domain::tiers::TierThresholds;
use mcp_coord::store::Store;
use mcp_coord::store::sessions::{
    EndOutcome, PutOutcome, PutSession, ReportOutcome, SessionPolicy, StatusWrite,
};

/// The policy every case passes (the store holds none): short tiers (active below 1 s), two
/// children per parent, depth 1, three status reports kept.
const POLICY: SessionPolicy = SessionPolicy {
    tiers: TierThresholds {
        active_ms: 1_000,
        idle_ms: 2_000,
        stale_ms: 3_000,
    },
    max_children: 2,
    max_depth: 1,
    status_history: 3,
    ended_retention_ms: 86_400_000,
};

/// A record for `name` owned by `conn`, as the service builds it (rev = previous + 1).
fn record(
    name: &str,
    conn: &str,
    parent: Option<&str>,
    prev: Option<&SessionEntry>,
) -> SessionRecord {
    let mut r = SessionRecord::new(name, Role::Agent, 1_000);
    r.connection_id = conn.to_string();
    r.parent = parent.map(String::from);
    r.rev = prev.map_or(1, |p| p.record.rev + 1);
    r
}

/// Writes `name` (under `parent`), reading the current record and parent depth first.
async fn put(
    store: &Arc<dyn Store>,
    name: &str,
    conn: &str,
    parent: Option<&str>,
    claim: bool,
) -> PutOutcome {
    let existing = store.get_session(name).await.unwrap();
    let parent_depth = match parent {
        Some(p) => store.get_session(p).await.unwrap().map(|e| e.record.depth),
        None => None,
    };
    let mut r = record(name, conn, parent, existing.as_ref());
    r.depth = parent.map_or(0, |_| parent_depth.unwrap_or(0) + 1);
    store
        .put_session(PutSession {
            record: r,
            expected: existing.map(|e| e.record),
            expected_parent_depth: parent_depth,
            claim: claim.then(|| conn.to_string()),
            policy: POLICY,
        })
        .await
        .unwrap()
}

fn written(outcome: PutOutcome) -> SessionEntry {
    match outcome {
        PutOutcome::Written(e) => *e,
        other => panic!("expected Written, got {other:?}"),
    }
}

async fn end(store: &Arc<dyn Store>, name: &str, seen_before: Option<i64>) -> EndOutcome {
    let e = store.get_session(name).await.unwrap().expect("exists");
    let mut r = e.record.clone();
    let now = store.now_ms().await.unwrap();
    r.ended_at_ms = Some(now);
    r.end_reason = Some("test".into());
    r.rev += 1;
    store
        .end_session(r, e.record.rev, seen_before)
        .await
        .unwrap()
}

pub async fn register_touch_and_read_back(store: Arc<dyn Store>) {
    assert_eq!(
        store.touch_session("w1", &POLICY).await.unwrap().1,
        None,
        "unknown: not touched"
    );
    let e = written(put(&store, "w1", "c1", None, true).await);
    assert!(e.live);
    let got = store.get_session("w1").await.unwrap().unwrap();
    assert_eq!(got.record, e.record);
    assert!(got.live);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (now, prev) = store.touch_session("w1", &POLICY).await.unwrap();
    let prev = prev.expect("live: touched");
    assert!(now > prev, "{now} > {prev}");
    assert_eq!(
        store.get_session("w1").await.unwrap().unwrap().last_seen_ms,
        now
    );
    let listed = store.list_sessions(false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].record.name, "w1");
    // The listing reads liveness and last activity as a single read does.
    assert!(listed[0].live);
    assert_eq!(listed[0].last_seen_ms, now);
    assert_eq!(listed[0].record, got.record);
    assert!(store.get_session("nobody").await.unwrap().is_none());
}

pub async fn stale_writes_are_refused(store: Arc<dyn Store>) {
    let first = written(put(&store, "w1", "c1", None, false).await);
    // A write based on no record while one exists, and one based on an old revision.
    let again = store
        .put_session(PutSession {
            record: record("w1", "c1", None, None),
            expected: None,
            expected_parent_depth: None,
            claim: None,
            policy: POLICY,
        })
        .await
        .unwrap();
    assert_eq!(again, PutOutcome::Changed);
    written(put(&store, "w1", "c1", None, false).await);
    let mut old = first.record.clone();
    old.rev += 1;
    let stale = store
        .put_session(PutSession {
            record: old,
            expected: Some(first.record.clone()),
            expected_parent_depth: None,
            claim: None,
            policy: POLICY,
        })
        .await
        .unwrap();
    assert_eq!(stale, PutOutcome::Changed);
}

pub async fn an_active_name_of_another_connection_is_refused(store: Arc<dyn Store>) {
    written(put(&store, "w1", "c1", None, true).await);
    match put(&store, "w1", "c2", None, true).await {
        PutOutcome::Owned {
            connection_id,
            age_ms,
        } => {
            assert_eq!(connection_id, "c1");
            assert!(age_ms >= 0);
        }
        other => panic!("expected Owned, got {other:?}"),
    }
    // The owner itself may re-register; without a claim (URL-bound) anyone may.
    written(put(&store, "w1", "c1", None, true).await);
    // Once idle (active threshold 1 s here) the name may be taken over.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let e = written(put(&store, "w1", "c2", None, true).await);
    assert_eq!(e.record.connection_id, "c2");
}

pub async fn child_limit_counts_live_children(store: Arc<dyn Store>) {
    written(put(&store, "master_project_web", "m", None, false).await);
    for i in 1..=2 {
        let child = format!("child_web_task_{i}");
        let e = written(put(&store, &child, "c", Some("master_project_web"), false).await);
        assert_eq!(e.record.depth, 1);
    }
    match put(
        &store,
        "child_web_task_3",
        "c",
        Some("master_project_web"),
        false,
    )
    .await
    {
        PutOutcome::Refused(PlacementRefusal::ChildLimit {
            live_children, max, ..
        }) => {
            assert_eq!((live_children, max), (2, 2));
        }
        other => panic!("expected ChildLimit, got {other:?}"),
    }
    assert!(
        store
            .get_session("child_web_task_3")
            .await
            .unwrap()
            .is_none(),
        "refused: nothing written"
    );
    // Re-registering an existing child is not a new child.
    written(
        put(
            &store,
            "child_web_task_1",
            "c",
            Some("master_project_web"),
            false,
        )
        .await,
    );
    assert!(matches!(
        end(&store, "child_web_task_1", None).await,
        EndOutcome::Ended(_)
    ));
    written(
        put(
            &store,
            "child_web_task_3",
            "c",
            Some("master_project_web"),
            false,
        )
        .await,
    );
    let children = store.child_sessions("master_project_web").await.unwrap();
    let mut names: Vec<_> = children
        .iter()
        .map(|c| (c.record.name.as_str(), c.live))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("child_web_task_1", false),
            ("child_web_task_2", true),
            ("child_web_task_3", true)
        ]
    );
}

pub async fn depth_limit_and_reparenting_rules(store: Arc<dyn Store>) {
    written(put(&store, "m", "m", None, false).await);
    written(put(&store, "c", "c", Some("m"), false).await);
    match put(&store, "g", "g", Some("c"), false).await {
        PutOutcome::Refused(PlacementRefusal::DepthLimit { depth, max, .. }) => {
            assert_eq!((depth, max), (2, 1));
        }
        other => panic!("expected DepthLimit, got {other:?}"),
    }
    assert!(store.get_session("g").await.unwrap().is_none());
    // A session with live children cannot take a parent (no cycles, no depth overflow).
    written(put(&store, "other", "o", None, false).await);
    match put(&store, "m", "m", Some("other"), false).await {
        PutOutcome::Refused(PlacementRefusal::HasChildren { live_children }) => {
            assert_eq!(live_children, 1);
        }
        other => panic!("expected HasChildren, got {other:?}"),
    }
    // Moving a leaf to another parent unlinks it from the old one.
    written(put(&store, "c", "c", Some("other"), false).await);
    assert!(store.child_sessions("m").await.unwrap().is_empty());
    assert_eq!(store.child_sessions("other").await.unwrap().len(), 1);
}

pub async fn status_history_is_capped_newest_first(store: Arc<dyn Store>) {
    written(put(&store, "w1", "c1", None, false).await);
    for i in 0..5i64 {
        let e = store.get_session("w1").await.unwrap().unwrap();
        let report = StatusReport::build(
            "working",
            Some(i * 10),
            Some(format!("step {i}")),
            1_000 + i,
        )
        .unwrap();
        let mut r = e.record.clone();
        r.status = Some(report.clone());
        r.rev += 1;
        let out = store
            .report_status(StatusWrite {
                record: r,
                expected_rev: e.record.rev,
                report: report.clone(),
                policy: POLICY,
            })
            .await
            .unwrap();
        assert!(matches!(out, ReportOutcome::Stored(_)), "{out:?}");
    }
    let history = store.status_history("w1", 100).await.unwrap();
    let steps: Vec<_> = history.iter().map(|r| r.progress.unwrap()).collect();
    assert_eq!(steps, vec![40, 30, 20], "cap 3, newest first");
    let current = store
        .get_session("w1")
        .await
        .unwrap()
        .unwrap()
        .record
        .status
        .unwrap();
    assert_eq!(current.progress, Some(40));
    // A report based on an old revision is refused.
    let e = store.get_session("w1").await.unwrap().unwrap();
    let report = StatusReport::build("done", None, None, 2_000).unwrap();
    let out = store
        .report_status(StatusWrite {
            record: e.record.clone(),
            expected_rev: e.record.rev - 1,
            report,
            policy: POLICY,
        })
        .await
        .unwrap();
    assert_eq!(out, ReportOutcome::Changed);
}

pub async fn end_list_and_purge(store: Arc<dyn Store>) {
    written(put(&store, "m", "m", None, false).await);
    written(put(&store, "c", "c", Some("m"), false).await);
    assert!(matches!(end(&store, "c", None).await, EndOutcome::Ended(_)));
    assert!(
        matches!(end(&store, "c", None).await, EndOutcome::NotLive),
        "ended once only"
    );
    let c = store.get_session("c").await.unwrap().unwrap();
    assert!(!c.live);
    assert!(c.record.ended_at_ms.is_some());
    assert_eq!(
        store.touch_session("c", &POLICY).await.unwrap().1,
        None,
        "an ended session is not touched"
    );
    assert_eq!(store.list_sessions(false).await.unwrap().len(), 1);
    let all = store.list_sessions(true).await.unwrap();
    assert_eq!(all.len(), 2);
    let ended = all.iter().find(|e| e.record.name == "c").expect("c listed");
    assert!(!ended.live, "an ended session is listed as not live");
    assert_eq!(ended.record, c.record);
    assert_eq!(ended.last_seen_ms, c.last_seen_ms);
    let now = store.now_ms().await.unwrap();
    let live = store.sessions_seen_between(None, now, 10).await.unwrap();
    assert_eq!(
        live.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec!["m"]
    );
    assert!(
        store
            .purge_ended(now - 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    assert_eq!(
        store.purge_ended(now + 1, 10).await.unwrap(),
        vec!["c".to_string()]
    );
    assert!(store.get_session("c").await.unwrap().is_none());
    assert!(store.child_sessions("m").await.unwrap().is_empty());
    assert_eq!(store.list_sessions(true).await.unwrap().len(), 1);
}

pub async fn reaper_guard_spares_a_session_that_came_back(store: Arc<dyn Store>) {
    written(put(&store, "w1", "c1", None, false).await);
    let (_, _) = store.touch_session("w1", &POLICY).await.unwrap();
    let seen = store.get_session("w1").await.unwrap().unwrap().last_seen_ms;
    assert_eq!(end(&store, "w1", Some(seen - 1)).await, EndOutcome::NotDue);
    assert!(store.get_session("w1").await.unwrap().unwrap().live);
    assert!(matches!(
        end(&store, "w1", Some(seen)).await,
        EndOutcome::Ended(_)
    ));
    // A revived session is live again, under a new revision.
    let e = written(put(&store, "w1", "c9", None, true).await);
    assert!(e.live);
    assert!(
        store
            .list_sessions(true)
            .await
            .unwrap()
            .iter()
            .all(|s| s.live)
    );
    let mark = store.swap_reaper_mark(5).await.unwrap();
    assert_eq!(mark, None);
    assert_eq!(store.swap_reaper_mark(6).await.unwrap(), Some(5));
}

crate::conformance!(
    register_touch_and_read_back,
    stale_writes_are_refused,
    an_active_name_of_another_connection_is_refused,
    child_limit_counts_live_children,
    depth_limit_and_reparenting_rules,
    status_history_is_capped_newest_first,
    end_list_and_purge,
    reaper_guard_spares_a_session_that_came_back,
);
