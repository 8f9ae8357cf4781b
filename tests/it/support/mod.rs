//! Test harness: Redis, the daemon, and MCP clients.

#![allow(dead_code)]

pub mod binary;
pub mod browser;
pub mod claude;
pub mod client;
pub mod daemon;
pub mod model;
pub mod process;
pub mod redis;
pub mod sse_client;
pub mod tls;
pub mod tmux;
