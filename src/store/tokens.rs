//! The tokens part of the store trait (issue 16): bearer tokens, kept as their SHA-256 with
//! the role and session patterns they carry. Shared by every daemon on one Redis, so a token
//! created through one daemon works on all of them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::auth::Role;

/// One token, as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenRecord {
    /// `tok_` + 12 hex digits: how `token list` and `token revoke` name it.
    pub id: String,
    /// SHA-256 (hex) of the secret.
    #[schemars(skip)]
    pub hash: String,
    pub role: Role,
    /// Session-name patterns it may act as; empty = any.
    pub sessions: Vec<String>,
    /// A note for people (`--label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_at_ms: i64,
}

/// Store operations for tokens. Each method is one atomic operation.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Records a new token (its id and hash are new).
    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError>;

    /// The token whose secret hashes to `hash`, if any (and not revoked).
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Deletes token `id`; false when there is none.
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;
}
