//! The real `mcp-coord` binary, run as a child process with a clean environment, for tests
//! of what only a process shows: signals, exit codes, sd_notify, subcommands.

use std::path::Path;
use std::process::Command;

/// Path of the binary Cargo built for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-coord");

/// `mcp-coord` with `args`, run in `cwd` (so no `config/default.toml` or `.env` of the
/// repository applies) and without any variable that would configure it from outside.
pub fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(cwd);
    clean_env(&mut cmd);
    cmd
}

/// The state dir the binaries of this test process keep session credentials in
/// (`XDG_STATE_HOME`), so they never touch the user's own.
pub fn state_home() -> &'static Path {
    static DIR: std::sync::LazyLock<tempfile::TempDir> = std::sync::LazyLock::new(|| {
        tempfile::Builder::new()
            .prefix("mcp-coord-test-state-")
            .tempdir()
            .expect("temp dir")
    });
    DIR.path()
}

/// Removes every variable that configures mcp-coord or makes it think systemd runs it, and
/// points its state dir at [`state_home`].
pub fn clean_env(cmd: &mut Command) {
    cmd.env("XDG_STATE_HOME", state_home());
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n.starts_with("MCP_COORD_")
            || matches!(
                n.as_ref(),
                "REDIS_URL"
                    | "SERVER_PORT"
                    | "DEFAULT_LOCK_TIMEOUT"
                    | "HEARTBEAT_TTL"
                    | "NOTIFY_SOCKET"
                    | "WATCHDOG_USEC"
                    | "WATCHDOG_PID"
                    | "INVOCATION_ID"
                    | "JOURNAL_STREAM"
            )
        {
            cmd.env_remove(&name);
        }
    }
}
