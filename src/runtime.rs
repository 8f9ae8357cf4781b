//! The one place the binary builds its tokio runtime: for the daemon as many workers as
//! `server.worker_threads` says (one by default), one thread for the client subcommands
//! (they wait on the network and should start fast).

use tokio::runtime::{Builder, Runtime};

/// Which process the runtime is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `serve`: this many worker threads (`server.worker_threads`; 0 = one per core).
    Daemon { worker_threads: usize },
    /// The CLI (`status`, `lock`, `doctor`, …): the current thread.
    Client,
}

/// Builds the runtime; the error is a sentence for stderr.
pub fn build(flavor: Flavor) -> Result<Runtime, String> {
    let mut builder = match flavor {
        // Multi-threaded even with one worker: blocking work (malloc_trim, /proc reads)
        // still goes to its own pool, and the worker count stays a setting.
        Flavor::Daemon { worker_threads } => {
            let mut b = Builder::new_multi_thread();
            if worker_threads > 0 {
                b.worker_threads(worker_threads);
            }
            b
        }
        Flavor::Client => Builder::new_current_thread(),
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("mcp-coord: cannot start the async runtime: {e}"))
}
