//! `mcp-coord admin release-lock|end-session|inbox|kill-session`: the admin tools
//! (`admin_*`, `service/admin`) from a shell. Connects with the admin token like `token`
//! (`MCP_COORD_TOKEN`, else the daemon's `admin.token`).

use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::int_arg;
use super::output::s;
use super::{CliError, EXIT_OK, Global, Out};
use crate::service::admin::{
    AdminEndSessionArgs, AdminInboxArgs, AdminKillSessionArgs, AdminReleaseLockArgs,
};

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Force-release a lock whoever holds it; the holder is told, a lock-delay follows.
    ReleaseLock(ReleaseLockArgs),
    /// End any live session: its locks released (with a lock-delay), its tasks handed back.
    EndSession(EndSessionArgs),
    /// Look at any session's unread messages (a peek: nothing is marked read).
    Inbox(InboxArgs),
    /// Kill any child's tmux session, whoever its parent.
    #[command(alias = "kill-child")]
    KillSession(KillArgs),
}

#[derive(Args, Debug)]
pub struct ReleaseLockArgs {
    /// The lock (`pytest`, `issue:42`, `resource:pytest`, …).
    pub name: String,
    /// Why, for the holder (not kept in the audit log).
    #[arg(long)]
    pub reason: Option<String>,
    /// The holder's branch, when the lock is `work`.
    #[arg(long)]
    pub branch: Option<String>,
}

#[derive(Args, Debug)]
pub struct EndSessionArgs {
    pub session: String,
    /// Why, for the session (not kept in the audit log).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct InboxArgs {
    pub session: String,
    /// At most N messages.
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    pub session: String,
}

pub async fn main(global: &Global, out: &Out, command: AdminCommand) -> Result<u8, CliError> {
    let daemon = super::token::connect_as_admin(global).await?;
    let result = match &command {
        AdminCommand::ReleaseLock(a) => {
            let args = AdminReleaseLockArgs {
                lock_name: a.name.clone(),
                branch: a.branch.clone(),
                reason: a.reason.clone(),
            };
            daemon.call("admin_release_lock", &args).await
        }
        AdminCommand::EndSession(a) => {
            let args = AdminEndSessionArgs {
                session: a.session.clone(),
                reason: a.reason.clone(),
            };
            daemon.call("admin_end_session", &args).await
        }
        AdminCommand::Inbox(a) => {
            let args = AdminInboxArgs {
                session: a.session.clone(),
                limit: Some(int_arg(a.limit)),
                kinds: None,
            };
            daemon.call("admin_read_inbox", &args).await
        }
        AdminCommand::KillSession(a) => {
            let args = AdminKillSessionArgs {
                session: a.session.clone(),
            };
            daemon.call("admin_kill_session", &args).await
        }
    };
    daemon.close().await;
    let answer: Value = result?;
    if out.json {
        out.json(&answer);
        return Ok(EXIT_OK);
    }
    match command {
        AdminCommand::Inbox(a) => {
            let messages = answer["messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                println!("no unread messages for {}", a.session);
            }
            for m in &messages {
                println!("{}", super::inbox::line(out, m));
            }
        }
        AdminCommand::KillSession(a) => println!(
            "killed {} (was running: {}; locks released: {})",
            a.session, answer["was_running"], answer["locks_released"]
        ),
        _ => println!("{}", s(&answer, "message")),
    }
    Ok(EXIT_OK)
}
