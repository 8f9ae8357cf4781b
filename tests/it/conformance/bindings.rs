//! Hook bindings (Claude session id → session name), run against Redis and the embedded store.

use std::sync::Arc;
use std::time::Duration;

use mcp_coord::store::Store;

const CLAUDE_ID: &str = "0b6c1e9a-3f1d-4c1e-9a55-1c2d3e4f5a6b";

async fn bind_read_rebind_and_drop(store: Arc<dyn Store>) {
    assert_eq!(store.claude_binding(CLAUDE_ID).await.unwrap(), None);
    store
        .put_claude_binding(CLAUDE_ID, "worker-1", 60_000)
        .await
        .unwrap();
    assert_eq!(
        store.claude_binding(CLAUDE_ID).await.unwrap().as_deref(),
        Some("worker-1")
    );
    // A later SessionStart naming another session wins.
    store
        .put_claude_binding(CLAUDE_ID, "worker-2", 60_000)
        .await
        .unwrap();
    assert_eq!(
        store.claude_binding(CLAUDE_ID).await.unwrap().as_deref(),
        Some("worker-2")
    );
    // Ending the old session does not drop the new binding.
    assert!(
        !store
            .drop_claude_binding(CLAUDE_ID, "worker-1")
            .await
            .unwrap()
    );
    assert_eq!(
        store.claude_binding(CLAUDE_ID).await.unwrap().as_deref(),
        Some("worker-2")
    );
    assert!(
        store
            .drop_claude_binding(CLAUDE_ID, "worker-2")
            .await
            .unwrap()
    );
    assert_eq!(store.claude_binding(CLAUDE_ID).await.unwrap(), None);
    assert!(
        !store
            .drop_claude_binding(CLAUDE_ID, "worker-2")
            .await
            .unwrap()
    );
}

async fn a_binding_lapses_after_its_ttl(store: Arc<dyn Store>) {
    store.put_claude_binding("c-short", "w", 200).await.unwrap();
    store
        .put_claude_binding("c-long", "w", 60_000)
        .await
        .unwrap();
    let mut lapsed = false;
    for _ in 0..100 {
        if store.claude_binding("c-short").await.unwrap().is_none() {
            lapsed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(lapsed, "a binding is gone after its TTL");
    assert_eq!(
        store.claude_binding("c-long").await.unwrap().as_deref(),
        Some("w")
    );
}

crate::conformance!(bind_read_rebind_and_drop, a_binding_lapses_after_its_ttl);
