//! The one place the binary builds its tokio runtime: multi-threaded for the daemon, one
//! thread for the client subcommands (they wait on the network and should start fast).

use tokio::runtime::{Builder, Runtime};

/// Which process the runtime is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `serve`: every core.
    Daemon,
    /// The CLI (`status`, `lock`, `doctor`, …): the current thread.
    Client,
}

/// Builds the runtime; the error is a sentence for stderr.
pub fn build(flavor: Flavor) -> Result<Runtime, String> {
    let mut builder = match flavor {
        Flavor::Daemon => Builder::new_multi_thread(),
        Flavor::Client => Builder::new_current_thread(),
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("mcp-coord: cannot start the async runtime: {e}"))
}
