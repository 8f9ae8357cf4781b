//! Liveness tiers: a pure function of how long ago a session was last seen.
//!
//! Reads compute the tier, so it is always exact; the reaper only performs side effects.

use super::named_enum::named_enum;

named_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Tier {
        /// Seen recently: its locks are fully protected.
        Active = "active",
        /// Quiet for a while: its locks are still refused to others, with a warning.
        Idle = "idle",
        /// Quiet for long: `force=true` may take its locks over.
        Stale = "stale",
        /// Gone: the reaper ends it and frees its locks.
        Abandoned = "abandoned",
    }
}

/// Tier boundaries in milliseconds: active < `active_ms` ≤ idle < `idle_ms` ≤ stale <
/// `stale_ms` ≤ abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierThresholds {
    pub active_ms: i64,
    pub idle_ms: i64,
    pub stale_ms: i64,
}

/// A threshold of [`TierThresholds`], named as the Redis scripts pass it (`active`, `idle`,
/// `stale`).
pub struct Bound {
    pub name: &'static str,
    pub of: fn(&TierThresholds) -> i64,
}

/// The tier rule, stated once: each tier but the oldest with the threshold its ages stay
/// below, youngest first; an age at or past the last threshold is [`Tier::Abandoned`].
/// [`TierThresholds::tier_of`] reads it, and the Redis store renders it as the scripts'
/// Lua `tier_of` (`store::redis::lua::lua_tier_of`).
pub const TIER_ENDS: [(Tier, Bound); 3] = [
    (
        Tier::Active,
        Bound {
            name: "active",
            of: |t| t.active_ms,
        },
    ),
    (
        Tier::Idle,
        Bound {
            name: "idle",
            of: |t| t.idle_ms,
        },
    ),
    (
        Tier::Stale,
        Bound {
            name: "stale",
            of: |t| t.stale_ms,
        },
    ),
];

/// The tier of ages past every bound of [`TIER_ENDS`].
pub const OLDEST: Tier = Tier::Abandoned;

impl TierThresholds {
    /// The tier of a session last seen `age_ms` ago (a negative age, from clock skew, is active).
    pub fn tier_of(&self, age_ms: i64) -> Tier {
        TIER_ENDS
            .iter()
            .find(|(_, bound)| age_ms < (bound.of)(self))
            .map_or(OLDEST, |(tier, _)| *tier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_belong_to_the_older_tier() {
        let t = TierThresholds {
            active_ms: 300_000,
            idle_ms: 3_600_000,
            stale_ms: 86_400_000,
        };
        assert_eq!(t.tier_of(-5), Tier::Active);
        assert_eq!(t.tier_of(0), Tier::Active);
        assert_eq!(t.tier_of(299_999), Tier::Active);
        assert_eq!(t.tier_of(300_000), Tier::Idle);
        assert_eq!(t.tier_of(3_600_000), Tier::Stale);
        assert_eq!(t.tier_of(86_400_000), Tier::Abandoned);
        assert_eq!(t.tier_of(i64::MAX), Tier::Abandoned);
    }
}
