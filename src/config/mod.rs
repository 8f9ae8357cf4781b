//! Settings, layered: built-in defaults < `config/default.toml` < `--config FILE` < `.env`
//! < environment < command-line flags.
//!
//! Environment variables are an explicit table ([`ENV_VARS`]) rather than a generic
//! `PREFIX__SECTION__KEY` mapping: users read `.env.example` and `systemctl edit`, and a
//! short flat name (`MCP_COORD_PORT`) is what they expect. The seed names (`REDIS_URL`,
//! `SERVER_PORT`, `DEFAULT_LOCK_TIMEOUT`, `HEARTBEAT_TTL`) keep working.//!
//! - `schema.rs`: every setting, its type and built-in default;
//! - `env.rs`: the table of environment variables and the settings they set;
//! - `load.rs`: applying the layers in order;
//! - `validate.rs`: what types alone cannot check, worded so the user can fix it.

mod env;
mod load;
mod schema;
mod validate;

pub use env::{ENV_VARS, EnvVar};
pub use load::{LoadOptions, Sources};
pub use schema::*;
pub use validate::ConfigError;

#[cfg(test)]
mod tests;
