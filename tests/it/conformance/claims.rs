//! Session claims (session → credential hash), run against Redis and the embedded store.

use std::sync::Arc;

use mcp_coord::store::Store;

async fn swap_is_compare_and_set(store: Arc<dyn Store>) {
    assert_eq!(store.claim_hash("w1").await.unwrap(), None);
    // There must be none: written.
    assert!(store.swap_claim("w1", None, "h1").await.unwrap());
    assert_eq!(store.claim_hash("w1").await.unwrap().as_deref(), Some("h1"));
    // A writer that read "none" too comes second: refused, nothing changes.
    assert!(!store.swap_claim("w1", None, "h2").await.unwrap());
    assert!(!store.swap_claim("w1", Some("other"), "h2").await.unwrap());
    assert_eq!(store.claim_hash("w1").await.unwrap().as_deref(), Some("h1"));
    // Based on the current one: replaced.
    assert!(store.swap_claim("w1", Some("h1"), "h2").await.unwrap());
    assert_eq!(store.claim_hash("w1").await.unwrap().as_deref(), Some("h2"));
    // Other sessions are untouched.
    assert_eq!(store.claim_hash("w2").await.unwrap(), None);
}

async fn dropped_claims_are_gone(store: Arc<dyn Store>) {
    assert!(store.swap_claim("a", None, "ha").await.unwrap());
    assert!(store.swap_claim("b", None, "hb").await.unwrap());
    store
        .drop_claims(&["a".to_string(), "missing".to_string()])
        .await
        .unwrap();
    store.drop_claims(&[]).await.unwrap();
    assert_eq!(store.claim_hash("a").await.unwrap(), None);
    assert_eq!(store.claim_hash("b").await.unwrap().as_deref(), Some("hb"));
    assert!(store.swap_claim("a", None, "ha2").await.unwrap());
}

crate::conformance!(swap_is_compare_and_set, dropped_claims_are_gone);
