//! Sessions: registration and binding, the implicit heartbeat, tiers on read, the
//! parent/child tree, status reports, and ending.
//!
//! Writes follow one pattern: read the record, build the new one, write it with the
//! revision that was read; when another write came first the store says `Changed` and we
//! read again (a few times at most: a session is written by itself and rarely by others).
//!
//! - `types.rs`: what the operations take and answer;
//! - `input.rs`: checking and cleaning what callers send;
//! - `register.rs`: registration (explicit, and implicit by a first tool call) and binding;
//! - `reads.rs`: views with tiers computed now, listings, one session's detail;
//! - `tree.rs`: the parent/child relationship and status reports to the parent;
//! - `ending.rs`: ending a session and releasing what it held.

mod ending;
mod input;
mod reads;
mod register;
mod tree;
mod types;

pub use register::is_in_use_elsewhere;
pub use types::*;

/// Attempts of a read-build-write cycle before giving up (only reached under a storm of
/// writes to one record).
const ATTEMPTS: usize = 8;
/// Status reports shown by `get_session_status`.
const RECENT_REPORTS: usize = 10;
