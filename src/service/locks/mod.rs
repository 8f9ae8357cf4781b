//! Locks: acquire (with fair waiting), release, extend, check, list, and releasing every
//! lock of an ended session. Each decision is one store operation; these files validate
//! input, wait between attempts, and word the results for a model to act on.
//!
//! - `types.rs`: what the operations take and answer (shared by every front-end);
//! - `acquire.rs`: `acquire_lock`, the one use-case that waits;
//! - `holding.rs`: the other use-cases (release, extend, check, release on end);
//! - `listing.rs`: `list_locks`, in pages;
//! - `wait.rs`: the wait machinery (queue membership, waking on release, cancellation);
//! - `wording.rs`: refusals and results worded for a model.

mod acquire;
mod holding;
mod listing;
mod types;
mod wait;
mod wording;

use std::time::Duration;

pub use listing::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
pub use types::*;
pub use wait::{WaitContext, WaitProgress};
pub(crate) use wording::taken_over_sentence;

/// Longest `reason` accepted.
pub const MAX_REASON: usize = 500;

/// A caller's `reason` (of a lock, or of an admin's action): empty is none; bounded, plain
/// text.
pub fn check_reason(
    reason: Option<String>,
) -> Result<Option<String>, crate::service::ServiceError> {
    let reason = reason.filter(|r| !r.trim().is_empty());
    if let Some(r) = &reason {
        if r.chars().count() > MAX_REASON {
            return Err(crate::service::ServiceError::invalid(format!(
                "reason is {} characters long; the limit is {MAX_REASON}",
                r.chars().count()
            )));
        }
        if r.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(crate::service::ServiceError::invalid(
                "reason contains control characters; use plain text",
            ));
        }
    }
    Ok(reason)
}
/// How often a waiter re-checks even without a release event (events can be lost).
pub const RECHECK: Duration = Duration::from_millis(400);
/// A waiter's liveness key lives this long past its last attempt; attempts come every
/// [`RECHECK`], so only a crashed daemon's waiters ever expire — and those are skipped
/// sooner: the embedded store keeps no queue across a restart, and on Redis a waiter whose
/// daemon left the registry is dead at once (`store/redis/daemons.rs`).
pub const WAITER_TTL_MS: i64 = 3000;
/// Progress notifications are sent this often while waiting (when the client asked).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);
