//! A private tmux server per test: `tmux -L mcp-coord-test-<random>`, never the user's
//! default socket. Dropping it kills the server and removes the socket file.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Output};

pub struct TmuxSocket {
    pub name: String,
}

/// False (and SKIPPED printed for `test`) when tmux is not installed.
pub fn installed_or_skip(test: &str) -> bool {
    let found = Command::new("tmux").arg("-V").output().is_ok();
    if !found {
        println!("SKIPPED: {test}: tmux is not installed");
    }
    found
}

impl TmuxSocket {
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            name: format!("mcp-coord-test-{}", &id[..12]),
        }
    }

    /// Runs `tmux -L <ours> ARGS` (no shell).
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.name)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs (scripts/test.sh installs it)")
    }

    /// Names of the sessions on our server (empty when none runs).
    pub fn sessions(&self) -> Vec<String> {
        let out = self.run(&["list-sessions", "-F", "#{session_name}"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }

    /// The session's tmux environment as `K=V` lines.
    pub fn environment(&self, session: &str) -> String {
        let out = self.run(&["show-environment", "-t", &format!("={session}")]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn socket_path(&self) -> PathBuf {
        let dir = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".into());
        let uid = std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(0);
        PathBuf::from(dir)
            .join(format!("tmux-{uid}"))
            .join(&self.name)
    }
}

impl Drop for TmuxSocket {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_file(self.socket_path());
    }
}
