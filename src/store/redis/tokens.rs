//! Redis implementation of [`TokenStore`](crate::store::TokenStore): hash `tokens`
//! (id → record JSON, `redis-cli HGETALL claude:tokens` lists them, hashes only) and hash
//! `tokens:by_hash` (SHA-256 → id) for the lookup every authenticated request makes.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::RedisStore;
use crate::store::tokens::TokenRecord;
use crate::store::{StoreError, TokenStore};

static PUT: LazyLock<Script> = script!("token_put.lua");
static GET: LazyLock<Script> = script!("token_get.lua");
static REVOKE: LazyLock<Script> = script!("token_revoke.lua");

#[async_trait]
impl TokenStore for RedisStore {
    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let (tokens, by_hash) = (self.keys().tokens(), self.keys().tokens_by_hash());
        let json = serde_json::to_string(token)?;
        let (id, hash) = (token.id.clone(), token.hash.clone());
        let _: i64 = self
            .run(|mut c| async move {
                PUT.key(tokens)
                    .key(by_hash)
                    .arg(&id)
                    .arg(&hash)
                    .arg(&json)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let (tokens, by_hash) = (self.keys().tokens(), self.keys().tokens_by_hash());
        let hash = hash.to_string();
        let raw: Option<String> = self
            .run(|mut c| async move {
                GET.key(tokens)
                    .key(by_hash)
                    .arg(&hash)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match raw {
            Some(r) => Some(serde_json::from_str(&r)?),
            None => None,
        })
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let key = self.keys().tokens();
        let raws: Vec<String> = self
            .run(|mut c| async move { redis::cmd("HVALS").arg(key).query_async(&mut c).await })
            .await?;
        let mut all = raws
            .iter()
            .map(|r| serde_json::from_str(r))
            .collect::<Result<Vec<TokenRecord>, _>>()?;
        all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(all)
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let (tokens, by_hash) = (self.keys().tokens(), self.keys().tokens_by_hash());
        let id = id.to_string();
        let n: i64 = self
            .run(|mut c| async move {
                REVOKE
                    .key(tokens)
                    .key(by_hash)
                    .arg(&id)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(n > 0)
    }
}
