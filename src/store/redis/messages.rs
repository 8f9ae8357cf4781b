//! Redis implementation of [`MessageStore`](crate::store::MessageStore).

use async_trait::async_trait;

use super::RedisStore;
use crate::store::MessageStore;

#[async_trait]
impl MessageStore for RedisStore {}
