//! One tmux invocation, built as an argv and run without a shell.

use std::process::Stdio;

use super::{CALL_TIMEOUT, Tmux, TmuxError};

/// A tmux command line (possibly several tmux commands joined by `;`).
///
/// Every argument goes through [`escape`], so text from a client can never end one tmux
/// command and start another; only [`TmuxCommand::then`] adds a separator.
#[derive(Debug, Clone)]
pub struct TmuxCommand {
    name: String,
    args: Vec<String>,
}

impl TmuxCommand {
    pub fn new(command: &str) -> Self {
        Self {
            name: command.to_string(),
            args: vec![command.to_string()],
        }
    }

    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.args.push(escape(arg.as_ref()));
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for a in args {
            self.args.push(escape(a.as_ref()));
        }
        self
    }

    /// `-t =NAME`: exactly this session (without `=` tmux also accepts a prefix).
    pub fn session(self, name: &str) -> Self {
        self.arg("-t").arg(format!("={name}"))
    }

    /// `-t =NAME:`: the active pane of this session's current window.
    pub fn pane(self, name: &str) -> Self {
        self.arg("-t").arg(format!("={name}:"))
    }

    /// Runs `command` after this one, in the same tmux invocation (the server executes the
    /// list in order before it handles anything else, e.g. a child that already exited).
    pub fn then(mut self, command: &str) -> Self {
        self.args.push(";".into());
        self.args.push(command.to_string());
        self
    }

    pub fn argv(&self) -> &[String] {
        &self.args
    }
}

/// tmux ends a command at any argument ending in `;` and reads a final `\;` as a literal `;`.
/// So a trailing `;` gets a backslash in front; tmux removes it again.
/// What a client prints when the server went away while it connected.
const SERVER_EXITED: &str = "server exited unexpectedly";

pub fn escape(arg: &str) -> String {
    match arg.strip_suffix(';') {
        Some(head) => format!("{head}\\;"),
        None => arg.to_string(),
    }
}

/// For arguments tmux expands as a format (`new-session -c`): `#` starts a format, and
/// `#(…)` runs a shell command, so every `#` is doubled.
pub fn literal_format(s: &str) -> String {
    s.replace('#', "##")
}

impl Tmux {
    /// Runs one tmux command line and returns its standard output.
    ///
    /// `target` names the session the command is about: when tmux says it cannot find it
    /// (or that no server runs at all), the error says that session is gone.
    pub async fn run(&self, cmd: TmuxCommand, target: Option<&str>) -> Result<String, TmuxError> {
        match self.run_once(&cmd, target).await {
            // The server was exiting (its last session just ended) as we connected; nothing
            // was executed. A second try starts a fresh server or finds none.
            Err(TmuxError::Failed { stderr, .. }) if stderr.contains(SERVER_EXITED) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                self.run_once(&cmd, target).await
            }
            other => other,
        }
    }

    async fn run_once(&self, cmd: &TmuxCommand, target: Option<&str>) -> Result<String, TmuxError> {
        let mut child = tokio::process::Command::new(&self.binary);
        child
            .arg("-L")
            .arg(&self.socket)
            // Only read when this call starts the server: a user's ~/.tmux.conf may set
            // options (destroy-unattached, default-command, …) that break what we rely on.
            .arg("-f")
            .arg("/dev/null")
            .args(cmd.argv())
            // Inside tmux these point at the user's server; ours is named by -L alone.
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let output = match tokio::time::timeout(CALL_TIMEOUT, child.output()).await {
            Err(_) => {
                return Err(TmuxError::Timeout {
                    command: cmd.name.clone(),
                    seconds: CALL_TIMEOUT.as_secs(),
                    socket: self.socket.clone(),
                });
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TmuxError::NotInstalled {
                    binary: self.binary.clone(),
                });
            }
            Ok(Err(e)) => {
                return Err(TmuxError::Io {
                    binary: self.binary.clone(),
                    error: e.to_string(),
                });
            }
            Ok(Ok(output)) => output,
        };
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        Err(self.classify(&cmd.name, stderr, target))
    }

    fn classify(&self, command: &str, stderr: String, target: Option<&str>) -> TmuxError {
        let no_server =
            stderr.starts_with("no server running") || stderr.starts_with("error connecting to");
        let missing = ["can't find session", "no such session", "can't find pane"]
            .iter()
            .chain(&["can't find window", "no such window", "no such pane"])
            // What a target lookup says when the server has no session at all.
            .chain(&["no current target"])
            .any(|m| stderr.contains(m));
        match target {
            Some(name) if no_server || missing => TmuxError::NoSession {
                name: name.to_string(),
                socket: self.socket.clone(),
            },
            _ if no_server => TmuxError::NoServer {
                socket: self.socket.clone(),
            },
            Some(name) if stderr.starts_with("duplicate session") => TmuxError::Duplicate {
                name: name.to_string(),
                socket: self.socket.clone(),
            },
            _ => TmuxError::Failed {
                command: command.to_string(),
                stderr: if stderr.is_empty() {
                    "exited with an error and said nothing".into()
                } else {
                    stderr
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_semicolons_are_escaped_and_nothing_else_changes() {
        assert_eq!(escape("x;"), "x\\;");
        assert_eq!(escape(";"), "\\;");
        assert_eq!(escape("y\\;"), "y\\\\;");
        assert_eq!(escape("a;b"), "a;b");
        assert_eq!(escape("$(touch x) #{s} {"), "$(touch x) #{s} {");
    }

    #[test]
    fn formats_are_made_literal() {
        assert_eq!(literal_format("/tmp/a#(rm)#{x}"), "/tmp/a##(rm)##{x}");
    }

    #[test]
    fn then_is_the_only_separator() {
        let cmd = TmuxCommand::new("send-keys")
            .arg(";")
            .then("kill-session")
            .session("a");
        assert_eq!(
            cmd.argv(),
            &["send-keys", "\\;", ";", "kill-session", "-t", "=a"]
        );
    }
}
