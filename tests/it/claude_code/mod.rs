//! End-to-end tests with real Claude Code (issue 15): `claude -p` and the interactive TUI
//! against a scripted model (support/model.rs), our hooks installed by `mcp-coord hooks
//! install`, on both transports; `restart.rs` restarts the daemon under a running TUI and
//! drives it with the daemon's own `send_keys`. Each test prints `SKIPPED …` where Claude
//! Code is not installed. Waits are bounded; nothing asserts a wall-clock time.

mod interactive;
mod print;
mod restart;
mod spawn;
mod tls;
