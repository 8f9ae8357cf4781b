//! Pure rules with no I/O: naming, tiers, hierarchy, the record types.

pub mod session_name;
pub mod spawn;
pub mod tiers;
