//! Embedded implementation of [`MessageStore`](crate::store::MessageStore).

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::MessageStore;

/// The messages part of the embedded state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MessageState {}

#[async_trait]
impl MessageStore for MemoryStore {}
