//! Behaviours every store has: a round trip and one clock.

use std::sync::Arc;

use mcp_coord::store::Store;

pub async fn ping_answers(store: Arc<dyn Store>) {
    let rtt = store.ping().await.expect("ping");
    assert!(rtt.as_secs() < 5);
}

pub async fn clock_is_unix_millis_and_moves_forward(store: Arc<dyn Store>) {
    let a = store.now_ms().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let b = store.now_ms().await.unwrap();
    assert!(a > 1_700_000_000_000, "milliseconds since the epoch: {a}");
    assert!(b > a, "{b} > {a}");
}

crate::conformance!(ping_answers, clock_is_unix_millis_and_moves_forward);
