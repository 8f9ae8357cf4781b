//! Client subcommands of `mcp-coord` (one file each). `serve` lives in `main.rs`/`app.rs`.

pub mod doctor;
pub mod install_service;
mod sse_probe;
