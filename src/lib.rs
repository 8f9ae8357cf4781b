//! mcp-coord: a coordination daemon for many AI coding-agent sessions.
//!
//! Data flows one way: front-end ([`mcp`], [`http`], `cli`) → [`service`] → [`store`].

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod logging;
pub mod mcp;
pub mod ops;
pub mod runtime;
pub mod service;
pub mod store;
pub mod tls;
pub mod tmux;
