//! A parent controlling its child: `send_keys`, `get_session_logs`, `kill_session`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::spawn as rules;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::tmux::Capture;
use crate::tmux::pane::{last_lines, trim_trailing_blank_lines};

/// Longest `lines` of `get_session_logs` (the scrollback holds 10 000).
pub const MAX_LOG_LINES: usize = 10_000;
/// `lines` of `get_session_logs` when the caller gives none.
pub const DEFAULT_LOG_LINES: usize = 100;

/// `send_keys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SendKeysArgs {
    /// Your child's tmux session name, e.g. child_web_task_3 (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
    /// Text typed literally: key names like "C-c" are not interpreted, newlines are typed as
    /// line breaks. Empty text with enter=true just presses Enter.
    #[serde(default)]
    pub text: String,
    /// Press Enter after the text (separately) and verify it was submitted. Default true.
    pub enter: Option<bool>,
}

/// `get_session_logs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SessionLogsArgs {
    /// Your child's tmux session name (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
    /// How many of the last lines to return (1-10000, default 100).
    pub lines: Option<usize>,
}

/// `kill_session`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KillSessionArgs {
    /// Your child's tmux session name (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SentKeys {
    pub session: String,
    /// Characters typed (literally: nothing in them is read as a key name).
    pub characters: usize,
    pub enter: bool,
    /// With enter: the pane showed the text submitted. Without: the text showed up.
    pub confirmed: bool,
    pub enter_presses: u32,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SessionLogs {
    pub session: String,
    /// The pane's last lines (scrollback and screen, wrapped lines joined), oldest first.
    pub output: String,
    pub line_count: usize,
    /// False once the program has exited (the pane stays until kill_session).
    pub running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct KilledSession {
    pub session: String,
    pub killed: bool,
    /// Whether its program was still running when it was killed.
    pub was_running: bool,
    /// Whether a live coordination session of that name was ended with it.
    pub ended: bool,
    /// Locks it held, released.
    pub locks_released: Vec<String>,
}

impl Coordinator {
    /// Types `text` into the caller's child literally; with `enter`, presses Enter separately
    /// and checks the pane shows it submitted (one retry). `confirmed` says what was seen.
    pub async fn send_keys(
        &self,
        caller: &Caller,
        args: &SendKeysArgs,
    ) -> Result<SentKeys, ServiceError> {
        let result = self.send_keys_unaudited(caller, args).await;
        let target = Some(args.session.clone());
        self.audited("keys_sent", &caller.session, target.as_deref(), result)
    }

    async fn send_keys_unaudited(
        &self,
        caller: &Caller,
        args: &SendKeysArgs,
    ) -> Result<SentKeys, ServiceError> {
        let (session, text) = (args.session.as_str(), args.text.as_str());
        let enter = args.enter.unwrap_or(true);
        rules::validate_text(text).map_err(ServiceError::invalid)?;
        let target = self.controlled_session(caller, session).await?;
        if target.dead {
            return Err(ServiceError::new(
                "conflict",
                format!(
                    "the program in {session} has exited{}; nothing reads keys there. \
                     get_session_logs shows its last output, kill_session removes it",
                    target
                        .exit_status
                        .map(|s| format!(" (status {s})"))
                        .unwrap_or_default()
                ),
            )
            .with_details(json!({ "session": session, "exit_status": target.exit_status })));
        }
        let verify = Duration::from_millis(self.settings().tmux.send_keys_verify_ms);
        let report = self.tmux().send_keys(session, text, enter, verify).await?;
        Ok(SentKeys {
            session: session.to_string(),
            characters: text.chars().count(),
            enter,
            confirmed: report.confirmed,
            enter_presses: report.enter_presses,
            detail: report.detail,
        })
    }

    /// The last `lines` lines of the caller's child's pane.
    pub async fn get_session_logs(
        &self,
        caller: &Caller,
        args: &SessionLogsArgs,
    ) -> Result<SessionLogs, ServiceError> {
        let session = args.session.as_str();
        let lines = args.lines.unwrap_or(DEFAULT_LOG_LINES);
        if lines == 0 || lines > MAX_LOG_LINES {
            return Err(ServiceError::invalid(format!(
                "lines = {lines}; allowed: 1 to {MAX_LOG_LINES}"
            )));
        }
        let target = self.controlled_session(caller, session).await?;
        let text = self
            .tmux()
            .capture_pane(session, Capture::Recent(lines))
            .await?;
        let output = last_lines(&trim_trailing_blank_lines(&text), lines);
        Ok(SessionLogs {
            session: session.to_string(),
            line_count: output.lines().count(),
            output,
            running: !target.dead,
            exit_status: target.exit_status,
        })
    }

    /// Kills the caller's child (its program gets SIGHUP, as when a terminal closes).
    pub async fn kill_session(
        &self,
        caller: &Caller,
        args: &KillSessionArgs,
    ) -> Result<KilledSession, ServiceError> {
        let result = self.kill_session_unaudited(caller, args, None).await;
        let target = Some(args.session.clone());
        self.audited("session_killed", &caller.session, target.as_deref(), result)
    }

    /// Kills the tmux session and ends its coordination session. `as_admin` (the end
    /// reason and lock-delay of an admin's kill, `service/admin`) skips the parent check:
    /// an admin may kill any child.
    pub(crate) async fn kill_session_unaudited(
        &self,
        caller: &Caller,
        args: &KillSessionArgs,
        as_admin: Option<(&str, i64)>,
    ) -> Result<KilledSession, ServiceError> {
        let session = args.session.as_str();
        let target = match as_admin {
            None => self.controlled_session(caller, session).await?,
            Some(_) => {
                crate::domain::session_name::validate(session).map_err(ServiceError::invalid)?;
                self.tmux().session(session).await?
            }
        };
        self.tmux().kill_session(session).await?;
        tracing::info!(session, by = %caller.session, admin = as_admin.is_some(), "killed child session");
        let (reason, lock_delay_ms) =
            as_admin.unwrap_or(("killed by its parent (kill_session)", 0));
        let ended = self
            .end_named_with_delay(session, reason, None, lock_delay_ms)
            .await?;
        Ok(KilledSession {
            session: session.to_string(),
            killed: true,
            was_running: !target.dead,
            ended: ended.is_some(),
            locks_released: ended.map(|e| e.locks_released).unwrap_or_default(),
        })
    }
}
