//! Embedded implementation of [`LockStore`](crate::store::LockStore).

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::LockStore;

/// The locks part of the embedded state.
#[derive(Debug, Default)]
pub struct LockState {}

#[async_trait]
impl LockStore for MemoryStore {}
