//! Redis implementation of [`LockStore`](crate::store::LockStore).

use async_trait::async_trait;

use super::RedisStore;
use crate::store::LockStore;

#[async_trait]
impl LockStore for RedisStore {}
