//! The tmux driver: every call runs the `tmux` program with an argv (never a shell string),
//! always on our private server (`tmux -L <tmux.socket>`), never on the user's default one.
//!
//! Facts about tmux 3.3a this module is built on (each was checked by hand; tests cover them):
//! - `new-session … CMD` with ONE command word runs it as `$SHELL -c CMD`; with two or more it
//!   is `execvp`'d. So commands always reach tmux as several words ([`launch`]).
//! - Any argument ending in `;` ends the tmux command and starts a new one (`"x;" kill-server`
//!   would kill the server); `\;` at the end stands for a literal `;` ([`command::escape`]).
//! - `new-session -c DIR` expands formats, and `#(…)` in a format runs a shell command;
//!   `##` stands for a literal `#` ([`command::literal_format`]).
//! - `-t NAME` also matches a session whose name merely starts with NAME; `-t =NAME` is exact.
//! - `display-message -t` on a missing session falls back to another one instead of failing,
//!   so pane facts come from `list-panes -t =NAME:`, which fails.
//! - `.` and `:` in a session name are silently replaced by `_`.
//! - With `remain-on-exit`, output printed just before a fast command exits is sometimes lost
//!   (3 of 100 runs of `sh -c 'echo hi; exit 3'`), so temporary sessions learn their exit code
//!   from a marker line instead ([`launch::report_exit`]).

pub mod command;
pub mod error;
pub mod keys;
pub mod launch;
pub mod pane;
pub mod session;

use std::time::Duration;

pub use command::TmuxCommand;
pub use error::TmuxError;
pub use keys::SendKeysReport;
pub use pane::{Capture, PaneState};
pub use session::{NewSession, TmuxSession};

/// Upper bound of one tmux invocation: a hung tmux server must not hang a tool call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on one tmux server (a socket). Cheap to clone; holds no connection.
#[derive(Debug, Clone)]
pub struct Tmux {
    binary: String,
    socket: String,
    /// What `list_sessions` learnt of each session's environment (see [`session::EnvCache`]).
    env_cache: std::sync::Arc<session::EnvCache>,
}

impl Tmux {
    pub fn new(binary: impl Into<String>, socket: impl Into<String>) -> Self {
        Self {
            binary: binary.into(),
            socket: socket.into(),
            env_cache: Default::default(),
        }
    }

    /// Where tmux puts our server's socket: `$TMUX_TMPDIR` (else `/tmp`), `tmux-<uid>/`, the
    /// label. No file there means no server, which a listing can know without running tmux.
    pub fn server_socket_path(&self) -> std::path::PathBuf {
        let dir = std::env::var_os("TMUX_TMPDIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| std::path::PathBuf::from("/tmp"), Into::into);
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        dir.join(format!("tmux-{uid}")).join(&self.socket)
    }

    pub fn from_settings(s: &crate::config::TmuxSettings) -> Self {
        Self::new(&s.binary, &s.socket)
    }

    /// Where a child's wrapper writes its program's exit status. tmux 3.3 sometimes marks
    /// a pane dead without ever recording `pane_dead_status` (seen in about half the runs
    /// of a program that exits 200 ms after start), so we record it ourselves.
    pub fn exit_status_file(&self, session: &str) -> std::path::PathBuf {
        let uid = std::env::var("USER").unwrap_or_else(|_| "user".into());
        std::env::temp_dir()
            .join(format!("mcp-coord-tmux-{uid}"))
            .join(&self.socket)
            .join(format!("{session}.exit"))
    }

    pub fn socket(&self) -> &str {
        &self.socket
    }

    pub fn binary(&self) -> &str {
        &self.binary
    }

    /// The command a human types to watch a session.
    pub fn attach_hint(&self, name: &str) -> String {
        format!("tmux -L {} attach -t {name}", self.socket)
    }
}
