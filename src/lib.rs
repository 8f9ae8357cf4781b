//! mcp-coord: a coordination daemon for many AI coding-agent sessions.

pub mod http;
