//! Redis implementation of [`SessionStore`](crate::store::SessionStore).

use async_trait::async_trait;

use super::RedisStore;
use crate::store::SessionStore;

#[async_trait]
impl SessionStore for RedisStore {}
