//! The locks part of the store trait.

use async_trait::async_trait;

/// Store operations for locks. Each method is one atomic operation.
#[async_trait]
pub trait LockStore: Send + Sync {}
