//! Pure rules with no I/O: naming, tiers, hierarchy, the record types.

pub mod auth;
pub mod credential;
pub mod hierarchy;
pub mod lock_name;
pub mod lua_json;
pub mod message;
pub mod named_enum;
pub mod session;
pub mod session_name;
pub mod spawn;
pub mod tasks;
pub mod tiers;
pub mod wake;
