//! Embedded implementation of [`SessionStore`](crate::store::SessionStore).

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::SessionStore;

/// The sessions part of the embedded state.
#[derive(Debug, Default)]
pub struct SessionState {}

#[async_trait]
impl SessionStore for MemoryStore {}
