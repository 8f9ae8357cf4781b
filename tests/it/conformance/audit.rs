//! The audit log's store part (append, order, filters, bounds), on Redis and the embedded store.

use std::sync::Arc;
use std::time::Duration;

use mcp_coord::store::Store;
use mcp_coord::store::audit::{AuditActor, AuditPolicy, AuditQuery, AuditRecord};

const ROOMY: AuditPolicy = AuditPolicy {
    max_entries: 1000,
    max_age_ms: 3_600_000,
};

fn entry(at_ms: i64, kind: &str, session: &str, target: Option<&str>) -> AuditRecord {
    AuditRecord {
        at_ms,
        kind: kind.into(),
        outcome: "ok".into(),
        session: Some(session.into()),
        by: Some(AuditActor {
            session: session.into(),
            connection: "c-1".into(),
            transport: "sse".into(),
            peer: None,
            token: None,
        }),
        lock: Some("resource:pytest".into()),
        target: target.map(str::to_string),
        detail: None,
    }
}

fn all(limit: usize) -> AuditQuery {
    AuditQuery {
        limit,
        ..AuditQuery::default()
    }
}

async fn entries_come_back_in_order_and_filtered(store: Arc<dyn Store>) {
    let now = store.now_ms().await.unwrap();
    let batch = vec![
        entry(now, "lock_granted", "alice", None),
        entry(now + 1, "lock_refused", "bob", Some("alice")),
        entry(now + 2, "message_sent", "carol", Some("dave")),
    ];
    store.append_audit(&batch, ROOMY).await.unwrap();
    store
        .append_audit(&[entry(now + 3, "lock_released", "alice", None)], ROOMY)
        .await
        .unwrap();

    let got = store.query_audit(&all(100)).await.unwrap();
    let kinds: Vec<_> = got.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "lock_granted",
            "lock_refused",
            "message_sent",
            "lock_released"
        ],
        "oldest first"
    );
    assert_eq!(got[1], batch[1], "an entry comes back as written");

    // A session filter matches the subject and the other party.
    let alice = AuditQuery {
        session: Some("alice".into()),
        ..all(100)
    };
    let kinds: Vec<_> = store
        .query_audit(&alice)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["lock_granted", "lock_refused", "lock_released"]);
    let refused = AuditQuery {
        kind: Some("lock_refused".into()),
        ..all(100)
    };
    assert_eq!(store.query_audit(&refused).await.unwrap().len(), 1);

    // `limit` keeps the newest.
    let newest = store.query_audit(&all(2)).await.unwrap();
    let kinds: Vec<_> = newest.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["message_sent", "lock_released"]);

    // `since_ms` leaves out older entries.
    let later = AuditQuery {
        since_ms: now + 2,
        ..all(100)
    };
    assert_eq!(store.query_audit(&later).await.unwrap().len(), 2);
}

async fn the_log_is_bounded_by_size(store: Arc<dyn Store>) {
    let now = store.now_ms().await.unwrap();
    let small = AuditPolicy {
        max_entries: 5,
        max_age_ms: 3_600_000,
    };
    for i in 0..12 {
        store
            .append_audit(
                &[entry(now + i, "lock_granted", &format!("s{i}"), None)],
                small,
            )
            .await
            .unwrap();
    }
    let got = store.query_audit(&all(100)).await.unwrap();
    let names: Vec<_> = got.iter().filter_map(|e| e.session.clone()).collect();
    assert_eq!(
        names,
        ["s7", "s8", "s9", "s10", "s11"],
        "the oldest went first"
    );
}

async fn the_log_is_bounded_by_age(store: Arc<dyn Store>) {
    let now = store.now_ms().await.unwrap();
    let short = AuditPolicy {
        max_entries: 1000,
        max_age_ms: 300,
    };
    store
        .append_audit(&[entry(now, "lock_granted", "old", None)], short)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let now = store.now_ms().await.unwrap();
    store
        .append_audit(&[entry(now, "lock_granted", "new", None)], short)
        .await
        .unwrap();
    let got = store.query_audit(&all(100)).await.unwrap();
    let names: Vec<_> = got.iter().filter_map(|e| e.session.clone()).collect();
    assert_eq!(
        names,
        ["new"],
        "entries past max_age are dropped at the next append"
    );
}

async fn many_entries_page_through(store: Arc<dyn Store>) {
    // More than one Redis page (500) of entries, most not matching the filter.
    let now = store.now_ms().await.unwrap();
    let batch: Vec<_> = (0..1200)
        .map(|i| {
            let who = if i % 100 == 0 { "rare" } else { "common" };
            entry(now + i / 10, "lock_granted", who, None)
        })
        .collect();
    for chunk in batch.chunks(256) {
        store
            .append_audit(chunk, ROOMY.with_max(5000))
            .await
            .unwrap();
    }
    let rare = AuditQuery {
        session: Some("rare".into()),
        ..all(100)
    };
    assert_eq!(store.query_audit(&rare).await.unwrap().len(), 12);
    assert_eq!(store.query_audit(&all(1100)).await.unwrap().len(), 1100);
}

trait WithMax {
    fn with_max(self, n: usize) -> Self;
}

impl WithMax for AuditPolicy {
    fn with_max(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }
}

crate::conformance!(
    entries_come_back_in_order_and_filtered,
    the_log_is_bounded_by_size,
    the_log_is_bounded_by_age,
    many_entries_page_through,
);
