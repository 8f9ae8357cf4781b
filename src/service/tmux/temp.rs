//! `spawn_temp_session`: run one command in a throwaway tmux session and return its output
//! and exit code; the session is removed afterwards, also on timeout or when the caller
//! goes away mid-run.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::domain::spawn::{self as rules, CommandSpec};
use crate::service::{Caller, Coordinator, ServiceError};
use crate::tmux::pane::trim_trailing_blank_lines;
use crate::tmux::{Capture, NewSession, Tmux, TmuxError, launch};

/// Timeout when the caller gives none (bounded by `tmux.temp_session_max_seconds`).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
/// Most output returned (the end of it is kept).
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// `spawn_temp_session`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SpawnTempArgs {
    /// Program to run: one string split into words (NOT run by a shell) or a list of words.
    /// For shell syntax, ask for a shell explicitly: ["sh", "-c", "npm test 2>&1 | tail -50"].
    pub command: CommandSpec,
    /// Absolute path of an existing directory to run in.
    pub working_dir: String,
    /// Seconds to wait before the command is killed (default 300; `timeout` works too).
    #[serde(alias = "timeout")]
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TempRun {
    /// The temporary tmux session's name (gone by the time this returns).
    pub session: String,
    pub command: Vec<String>,
    /// The command's exit code (128+N when killed by signal N); absent on timeout.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// What the command printed (stdout and stderr, as a terminal shows them).
    pub output: String,
    /// Older output was cut: by the 64 KiB result limit or the pane's scrollback.
    pub output_truncated: bool,
    pub duration_ms: u64,
    /// The temporary session was removed.
    pub cleaned_up: bool,
}

/// Kills the temporary session when dropped while armed: if the tool call is cancelled (the
/// client disconnects), the command does not keep running unseen.
struct KillOnDrop {
    tmux: Tmux,
    name: String,
    armed: bool,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.armed
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let tmux = self.tmux.clone();
            let name = std::mem::take(&mut self.name);
            handle.spawn(async move {
                let _ = tmux.kill_session(&name).await;
            });
        }
    }
}

impl Coordinator {
    pub async fn spawn_temp_session(
        &self,
        caller: &Caller,
        req: SpawnTempArgs,
    ) -> Result<TempRun, ServiceError> {
        let result = self.spawn_temp_session_unaudited(caller, req).await;
        let target = result.as_ref().ok().map(|c| c.session.clone());
        self.audited(
            "temp_session_spawned",
            &caller.session,
            target.as_deref(),
            result,
        )
    }

    async fn spawn_temp_session_unaudited(
        &self,
        caller: &Caller,
        req: SpawnTempArgs,
    ) -> Result<TempRun, ServiceError> {
        let max = self.settings().tmux.temp_session_max_seconds;
        let timeout = req
            .timeout_seconds
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS.min(max));
        if timeout == 0 || timeout > max {
            return Err(ServiceError::invalid(format!(
                "timeout_seconds = {timeout}; allowed: 1 to {max} (tmux.temp_session_max_seconds)"
            )));
        }
        rules::validate_working_dir(&req.working_dir).map_err(ServiceError::invalid)?;
        let argv = rules::command_words(&req.command).map_err(ServiceError::invalid)?;
        match tokio::fs::metadata(&req.working_dir).await {
            Ok(m) if m.is_dir() => {}
            _ => {
                return Err(ServiceError::invalid(format!(
                    "working_dir {} is not an existing directory; give the directory to run in",
                    req.working_dir
                )));
            }
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = rules::temp_name(&caller.session, &id[..8]);
        let marker = format!("__MCP_COORD_EXIT_{}__", &id[8..24]);
        let env = vec![
            ("COORD_SESSION".to_string(), name.clone()),
            ("MASTER_SESSION_ID".to_string(), caller.session.clone()),
            ("SESSION_ROLE".to_string(), "temp".to_string()),
        ];
        let words = launch::report_exit(&marker, &argv);
        let started = Instant::now();
        self.tmux()
            .new_session(&NewSession {
                name: &name,
                cwd: Path::new(&req.working_dir),
                env: &env,
                argv: &words,
                remain_on_exit: false,
            })
            .await?;
        let mut guard = KillOnDrop {
            tmux: self.tmux().clone(),
            name: name.clone(),
            armed: true,
        };

        let deadline = started + Duration::from_secs(timeout);
        let finished = self.wait_for_marker(&name, &marker, deadline).await?;
        let full = self.tmux().capture_pane(&name, Capture::All).await?;
        let state = self.tmux().pane_state(&name).await?;
        let (raw, exit_code) = match (finished, launch::split_exit(&full, &marker)) {
            (true, Some((before, code))) => (before, Some(code)),
            _ => (full, None),
        };
        let cleaned_up = match self.tmux().kill_session(&name).await {
            Ok(()) | Err(TmuxError::NoSession { .. }) => true,
            Err(_) => false,
        };
        guard.armed = !cleaned_up;
        let (output, cut) = keep_tail(&trim_trailing_blank_lines(&raw), MAX_OUTPUT_BYTES);
        Ok(TempRun {
            session: name,
            command: argv,
            timed_out: exit_code.is_none(),
            exit_code,
            output,
            output_truncated: cut || state.history_size >= state.history_limit,
            duration_ms: started.elapsed().as_millis() as u64,
            cleaned_up,
        })
    }

    /// Polls the bottom of the pane for the exit marker until `deadline`; true when seen.
    async fn wait_for_marker(
        &self,
        name: &str,
        marker: &str,
        deadline: Instant,
    ) -> Result<bool, ServiceError> {
        let mut pause = Duration::from_millis(20);
        loop {
            let bottom = match self.tmux().capture_pane(name, Capture::Recent(5)).await {
                Ok(text) => text,
                Err(TmuxError::NoSession { .. }) => {
                    return Err(ServiceError::new(
                        "not_found",
                        format!(
                            "the temporary session {name} disappeared before its command \
                             finished (killed from outside?); run spawn_temp_session again"
                        ),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            if launch::split_exit(&bottom, marker).is_some() {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }
}

/// The last `max` bytes of `text` (cut at a line start when possible), and whether it was cut.
fn keep_tail(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let tail = &text[start..];
    let tail = tail.split_once('\n').map_or(tail, |(_, rest)| rest);
    (tail.to_string(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(keep_tail("abc", 10), ("abc".into(), false));
        let (t, cut) = keep_tail("line1\nline2\nline3", 8);
        assert!(cut);
        assert_eq!(t, "line3");
    }
}
