//! Service errors: a stable code for programs and a sentence for the model.
//!
//! Every message says what was wrong, what is allowed, and what to do next.

use serde::Serialize;
use serde_json::Value;

use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// Stable, machine-readable: `invalid_argument`, `not_owner`, `conflict`, `not_found`,
    /// `forbidden`, `limit`, `timeout`, `store_unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// Extra structured facts (holder, expires_at, …), merged into the tool's JSON result.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl ServiceError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_argument", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new("forbidden", message)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::new("store_unavailable", e.to_string()),
            StoreError::Internal(_) => Self::new("internal", e.to_string()),
        }
    }
}
