//! Embedded implementation of [`LockStore`](crate::store::LockStore).

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::LockStore;

/// The locks part of the embedded state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LockState {}

#[async_trait]
impl LockStore for MemoryStore {}
