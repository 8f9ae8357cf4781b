//! Pure rules with no I/O: naming, tiers, hierarchy, the record types.

pub mod lock_name;
pub mod session_name;
pub mod spawn;
pub mod tiers;
