//! Redis implementation of [`ClaimStore`](crate::store::ClaimStore): one hash
//! (`claims`: session → credential hash), so `redis-cli HGETALL claude:claims` shows which
//! sessions have a claim (hashes only). The swap is compare-and-set (`claim_swap.lua`).

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::RedisStore;
use crate::store::{ClaimStore, StoreError};

static SWAP: LazyLock<Script> = script!("claim_swap.lua");

#[async_trait]
impl ClaimStore for RedisStore {
    async fn claim_hash(&self, session: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys().claims();
        let session = session.to_string();
        self.run(|mut c| async move {
            redis::cmd("HGET")
                .arg(key)
                .arg(session)
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn swap_claim(
        &self,
        session: &str,
        expected: Option<&str>,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let key = self.keys().claims();
        let args = (
            session.to_string(),
            expected.unwrap_or_default().to_string(),
            hash.to_string(),
        );
        let written: i64 = self
            .run(|mut c| async move {
                SWAP.key(key)
                    .arg(&args.0)
                    .arg(&args.1)
                    .arg(&args.2)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(written > 0)
    }

    async fn drop_claims(&self, sessions: &[String]) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let key = self.keys().claims();
        let sessions = sessions.to_vec();
        self.run(|mut c| async move {
            redis::cmd("HDEL")
                .arg(key)
                .arg(sessions)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }
}
