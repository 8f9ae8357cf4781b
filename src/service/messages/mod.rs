//! Messages: sending (to a session, the parent, the children, a role or the whole project),
//! reading the caller's own inbox (with long-polling), request/reply, `coordinate_sessions`,
//! and the messages the daemon writes itself (a child's status to its parent, lock takeover
//! notes to the old holder).
//!
//! An inbox is only ever the caller's own: no function here takes an inbox name from a
//! caller. Waiting (long-poll, reply) subscribes to the store's wake-ups before the first
//! read and re-reads at least every [`RECHECK`], so a lost wake-up costs at most that.//!
//! - `types.rs`: what the operations take and answer;
//! - `input.rs`: checking kinds, TTLs, waits and roles;
//! - `send.rs`: sending, resolving a target to recipients, delivering one message;
//! - `read.rs`: reading the caller's inbox and waiting for a reply;
//! - `daemon_sent.rs`: `coordinate_sessions` and the messages the daemon writes itself.

mod daemon_sent;
mod input;
mod read;
mod send;
mod types;

use std::time::Duration;

pub(crate) use input::wake_for;
pub use types::*;

/// Re-read at least this often while waiting, in case a wake-up was lost.
pub const RECHECK: Duration = Duration::from_millis(500);
/// `get_session_messages` without `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// Most messages one read returns.
pub const MAX_LIMIT: usize = 200;
/// `wait_for_response` / `send_message_to_session(wait_for_response)` without a timeout
/// (seed 002's default).
pub const DEFAULT_REPLY_TIMEOUT: u64 = 30;
/// Most sessions `coordinate_sessions` assigns at once.
pub const MAX_ASSIGNMENTS: usize = 100;
