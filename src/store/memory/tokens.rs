//! Embedded implementation of [`TokenStore`](crate::store::TokenStore): table `tokens`
//! (id → record); a lookup by hash reads every row (a handful of tokens per daemon).

use async_trait::async_trait;

use super::MemoryStore;
use super::table::{Table, TableRef};
use crate::store::tokens::TokenRecord;
use crate::store::{StoreError, TokenStore};

/// The tokens part of the embedded state.
#[derive(Debug, Default)]
pub struct TokenState {
    /// Token id → its record.
    pub tokens: Table<String, TokenRecord>,
}

impl TokenState {
    /// The tables, as `sqlite3` shows them.
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![TableRef {
            name: "tokens",
            key_columns: &["id"],
            table: &mut self.tokens,
        }]
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.apply(|st| {
            st.tokens.tokens.insert(token.id.clone(), token);
        })
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.apply(|st| st.tokens.tokens.values().find(|t| t.hash == hash).cloned())
            .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut all: Vec<TokenRecord> = self
            .apply(|st| st.tokens.tokens.values().cloned().collect())
            .await?;
        all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(all)
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(|st| st.tokens.tokens.remove(id).is_some()).await
    }
}
