//! The policy the service hands to the store with each call: tier thresholds, tree limits,
//! history and inbox sizes, all from the settings. The stores hold no settings; the domain
//! rules (`domain::tiers`) take plain numbers.

use crate::config::{MessageSettings, SessionSettings};
use crate::domain::tiers::TierThresholds;
use crate::store::messages::InboxPolicy;
use crate::store::sessions::SessionPolicy;

fn ms(seconds: u64) -> i64 {
    (seconds as i64).saturating_mul(1000)
}

/// Tier boundaries in milliseconds, from `[sessions]`.
pub fn tier_thresholds(s: &SessionSettings) -> TierThresholds {
    TierThresholds {
        active_ms: ms(s.active_seconds),
        idle_ms: ms(s.idle_seconds),
        stale_ms: ms(s.stale_seconds),
    }
}

/// The rules session writes are checked against, from `[sessions]`.
pub fn session_policy(s: &SessionSettings) -> SessionPolicy {
    SessionPolicy {
        tiers: tier_thresholds(s),
        max_children: s.max_children,
        max_depth: s.max_depth,
        status_history: s.status_history,
        ended_retention_ms: ms(s.ended_retention_seconds),
    }
}

/// The inbox rules, from `[messages]`.
pub fn inbox_policy(m: &MessageSettings) -> InboxPolicy {
    InboxPolicy {
        cap: m.inbox_cap,
        ttl_ms: ms(m.inbox_ttl_seconds),
    }
}
