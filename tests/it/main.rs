//! Integration tests: a real `redis-server` started by the harness on a free port, the
//! daemon in-process on port 0, and real MCP clients on both transports.
//!
//! One test binary (not one per file) so the suite links once.

mod admin;
mod audit;
mod auth;
mod auth_carry;
mod auth_matrix;
mod child_token;
mod claims;
mod claude_code;
mod cli_run;
mod cli_setup;
mod cli_tasks;
mod conformance;
mod dashboard;
mod dashboard_auth;
mod differential;
mod embedded;
mod faults;
mod foundation;
mod hooks;
mod idle_connections;
mod locks;
mod messages;
mod ops;
mod outside_clients;
mod rate_limit;
mod readable_names;
mod sessions;
mod sse_transport;
mod streamable_sessions;
mod support;
mod task_events;
mod taskmaster;
mod taskmaster_cli;
mod tasks;
mod tasks_property;
mod tls;
mod tmux;
mod tmux_tasks;
mod wake;
