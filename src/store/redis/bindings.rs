//! Redis implementation of [`BindingStore`](crate::store::BindingStore): one string key per
//! Claude session id (`bindings:claude:{id}` → session name, TTL), so `redis-cli GET` shows
//! which session an agent is bound to. Dropping is compare-and-delete (`binding_drop.lua`).

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::RedisStore;
use crate::store::{BindingStore, StoreError};

static DROP: LazyLock<Script> = script!("binding_drop.lua");

#[async_trait]
impl BindingStore for RedisStore {
    async fn put_claude_binding(
        &self,
        claude_id: &str,
        session: &str,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let key = self.keys().claude_binding(claude_id);
        let session = session.to_string();
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(session)
                .arg("PX")
                .arg(ttl_ms.max(1))
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn claude_binding(&self, claude_id: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys().claude_binding(claude_id);
        self.run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await
    }

    async fn drop_claude_binding(
        &self,
        claude_id: &str,
        session: &str,
    ) -> Result<bool, StoreError> {
        let key = self.keys().claude_binding(claude_id);
        let session = session.to_string();
        let removed: i64 = self
            .run(|mut c| async move { DROP.key(key).arg(session).invoke_async(&mut c).await })
            .await?;
        Ok(removed > 0)
    }
}
