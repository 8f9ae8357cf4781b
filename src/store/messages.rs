//! The messages part of the store trait.

use async_trait::async_trait;

/// Store operations for messages. Each method is one atomic operation.
#[async_trait]
pub trait MessageStore: Send + Sync {}
