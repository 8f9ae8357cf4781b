//! The sessions part of the store trait.

use async_trait::async_trait;

/// Store operations for sessions. Each method is one atomic operation.
#[async_trait]
pub trait SessionStore: Send + Sync {}
