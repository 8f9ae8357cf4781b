//! Store errors: what went wrong below the service layer, phrased for the caller.

/// A failed store operation. `Unavailable` is the one a user can fix by starting Redis; the
/// daemon keeps serving and recovers by itself when the store is back.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error(
        "store unavailable: {0} (is redis-server running? `redis-cli ping` tells; the daemon reconnects by itself)"
    )]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
        {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Internal(e.to_string())
        }
    }
}

impl From<deadpool_redis::PoolError> for StoreError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        match e {
            deadpool_redis::PoolError::Backend(e) => e.into(),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Internal(format!("malformed record: {e}"))
    }
}
