//! Bearer tokens (hash → role, patterns), against Redis and the embedded store.

use std::sync::Arc;

use mcp_coord::domain::auth::Role;
use mcp_coord::store::Store;
use mcp_coord::store::tokens::TokenRecord;

fn token(id: &str, hash: &str, at: i64) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        hash: hash.into(),
        role: Role::Agent,
        sessions: vec!["child_web_*".into()],
        label: Some("ci".into()),
        created_at_ms: at,
    }
}

async fn put_find_list_revoke(store: Arc<dyn Store>) {
    assert_eq!(store.token_by_hash("h1").await.unwrap(), None);
    store.put_token(&token("tok_b", "h2", 2)).await.unwrap();
    store.put_token(&token("tok_a", "h1", 1)).await.unwrap();
    assert_eq!(
        store.token_by_hash("h1").await.unwrap(),
        Some(token("tok_a", "h1", 1))
    );
    let ids: Vec<String> = store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["tok_a", "tok_b"]);
    assert!(store.revoke_token("tok_a").await.unwrap());
    assert!(!store.revoke_token("tok_a").await.unwrap());
    assert_eq!(store.token_by_hash("h1").await.unwrap(), None);
    assert!(store.token_by_hash("h2").await.unwrap().is_some());
}

crate::conformance!(put_find_list_revoke);
