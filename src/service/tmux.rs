//! tmux orchestration: spawn children (`create_session`), control them (`send_keys`,
//! `get_session_logs`, `kill_session`), run one-off commands (`spawn_temp_session`), and list
//! what runs on our tmux server (`tmux_sessions`).
//!
//! Who controls a session is read from tmux itself: every session we spawn carries
//! `MASTER_SESSION_ID=<parent>` in its tmux environment, and only a caller whose session is
//! that parent may type into it, read it, or kill it. A session without that variable (made
//! by hand on our socket) is controlled by nobody through mcp-coord.

mod child_token;
mod control;
mod spawn;
mod task_link;
mod temp;

use serde_json::json;
use tokio::sync::Mutex;

pub use control::{
    KillSessionArgs, KilledSession, SendKeysArgs, SentKeys, SessionLogs, SessionLogsArgs,
};
pub use spawn::{CreateSessionArgs, CreatedSession};
pub use temp::{SpawnTempArgs, TempRun};

use super::{Caller, Coordinator, ServiceError};
use crate::config::TmuxSettings;
use crate::domain::session_name;
use crate::tmux::{Tmux, TmuxError, TmuxSession};

/// The daemon's tmux state: the driver, and a guard that makes "count the children, then
/// spawn one" a single step within this daemon (two concurrent create_session calls cannot
/// both take the last free place).
pub struct TmuxRuntime {
    driver: Tmux,
    spawning: Mutex<()>,
}

impl TmuxRuntime {
    pub fn new(settings: &TmuxSettings) -> Self {
        Self {
            driver: Tmux::from_settings(settings),
            spawning: Mutex::new(()),
        }
    }
}

impl From<TmuxError> for ServiceError {
    fn from(e: TmuxError) -> Self {
        let code = match &e {
            TmuxError::NotInstalled { .. } => "tmux_unavailable",
            TmuxError::NoServer { .. } | TmuxError::NoSession { .. } => "not_found",
            TmuxError::Duplicate { .. } => "conflict",
            TmuxError::Timeout { .. } => "timeout",
            TmuxError::Failed { .. } | TmuxError::Io { .. } => "tmux_failed",
        };
        ServiceError::new(code, e.to_string())
    }
}

impl Coordinator {
    /// The tmux driver (our socket, our binary).
    pub fn tmux(&self) -> &Tmux {
        &self.tmux.driver
    }

    /// Every session on our tmux server with its parent (`master`) and role, whether or not
    /// it has a coordination record. The sessions list shows the ones without a record as
    /// unmanaged. No tmux server running = an empty list.
    pub async fn tmux_sessions(&self) -> Result<Vec<TmuxSession>, ServiceError> {
        Ok(self.tmux().list_sessions().await?)
    }

    /// The session `name` if `caller` is its parent; otherwise a refusal naming the parent.
    async fn controlled_session(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<TmuxSession, ServiceError> {
        session_name::validate(name).map_err(ServiceError::invalid)?;
        let session = self.tmux().session(name).await?;
        match &session.master {
            Some(parent) if *parent == caller.session => Ok(session),
            Some(parent) => Err(ServiceError::forbidden(format!(
                "tmux session {name} is a child of {parent}; only its parent controls it \
                 (send_keys, get_session_logs, kill_session), and you are {}. Ask {parent} \
                 to do it (send_message_to_session), or connect as {parent}",
                caller.session
            ))
            .with_details(json!({ "session": name, "parent": parent }))),
            None => Err(ServiceError::forbidden(format!(
                "tmux session {name} was not spawned by create_session (it has no \
                 MASTER_SESSION_ID), so no session controls it through mcp-coord; a human can \
                 use it directly: {}",
                self.tmux().attach_hint(name)
            ))
            .with_details(json!({ "session": name, "parent": null }))),
        }
    }
}
