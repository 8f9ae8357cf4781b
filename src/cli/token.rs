//! `mcp-coord token create|list|revoke` (issue 16): bearer tokens, through the daemon's admin
//! tools. The CLI authenticates with `MCP_COORD_TOKEN` when set, else with the daemon's
//! bootstrap admin token: the file `admin.token` the daemon writes (0600) in its state dir
//! (`MCP_COORD_DATA_DIR`, `$XDG_STATE_HOME/mcp-coord`, `~/.local/state/mcp-coord`) at each
//! start. `create` prints the new token alone on stdout.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::{Daemon, bearer};
use super::{CliError, EXIT_OK, Global, Out};
use crate::config::Settings;
use crate::service::tokens::{ADMIN_FILE, CreateTokenArgs, RevokeTokenArgs};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; prints it alone on stdout (it is shown only once).
    Create(CreateArgs),
    /// List tokens (ids, roles, session patterns; never secrets).
    List,
    /// Revoke a token by id (`tok_…`).
    Revoke(RevokeArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// admin, agent or observer.
    #[arg(long)]
    pub role: String,
    /// Session-name patterns it may act as (comma-separated or repeated), e.g. 'child_web_*'.
    #[arg(long, value_delimiter = ',')]
    pub sessions: Vec<String>,
    /// A note for people (who it is for).
    #[arg(long)]
    pub label: Option<String>,
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    pub id: String,
}

/// Where the system unit (`deploy/mcp-coord.service`, DynamicUser + StateDirectory) keeps
/// its data: readable by root only.
const SYSTEM_STATE_DIR: &str = "/var/lib/mcp-coord";

/// The admin token: the invocation's (`--token`, `MCP_COORD_TOKEN`, `--token-file`), else
/// the daemon's `admin.token` — in the data directory this machine's settings name (config
/// file `store.data_dir`, `MCP_COORD_DATA_DIR`), else the user unit's or the system unit's
/// state directory, the first that exists.
fn admin_token() -> Result<String, CliError> {
    if let Some(t) = bearer() {
        return Ok(t);
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let opts = crate::config::LoadOptions::from_process(None, Vec::new());
    let settings = match Settings::load(&opts) {
        Ok((settings, _)) => settings,
        Err(_) => {
            let mut settings = Settings::default();
            if let Some(dir) = env.get("MCP_COORD_DATA_DIR") {
                settings.store.data_dir = dir.clone();
            }
            settings
        }
    };
    let mut candidates = vec![settings.data_dir(&env).join(ADMIN_FILE)];
    let user_unit = Settings::default().data_dir(&env).join(ADMIN_FILE);
    let system_unit = std::path::Path::new(SYSTEM_STATE_DIR).join(ADMIN_FILE);
    for c in [user_unit, system_unit] {
        if !candidates.contains(&c) {
            candidates.push(c);
        }
    }
    let mut tried = Vec::new();
    for file in &candidates {
        match std::fs::read_to_string(file) {
            Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
            Ok(_) => tried.push(format!("{} (empty)", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tried.push(format!("{} (absent)", file.display()));
            }
            Err(e) => tried.push(format!("{} ({e})", file.display())),
        }
    }
    Err(CliError::Usage(format!(
        "no admin token: set MCP_COORD_TOKEN (or --token-file), or run as the daemon's user so \
         its admin.token can be read — for the system service that is root \
         (sudo mcp-coord token …); tried {}",
        tried.join(", ")
    )))
}

/// Connects as the CLI's session with the admin token (no claim needed): for `token`,
/// `admin` and `resume-grants`.
pub(super) async fn connect_as_admin(global: &Global) -> Result<Daemon, CliError> {
    Daemon::connect_with_token(&global.base_url(), &global.session_name()?, admin_token()?).await
}

pub async fn main(global: &Global, out: &Out, command: TokenCommand) -> Result<u8, CliError> {
    let daemon = connect_as_admin(global).await?;
    let result = match &command {
        TokenCommand::Create(a) => {
            daemon
                .call(
                    "token_create",
                    &CreateTokenArgs {
                        role: a.role.clone(),
                        sessions: Some(a.sessions.clone()),
                        label: a.label.clone(),
                    },
                )
                .await
        }
        TokenCommand::List => daemon.call_plain("token_list").await,
        TokenCommand::Revoke(a) => {
            daemon
                .call("token_revoke", &RevokeTokenArgs { id: a.id.clone() })
                .await
        }
    };
    daemon.close().await;
    let answer: Value = result?;
    match command {
        TokenCommand::Create(_) => println!("{}", answer["token"].as_str().unwrap_or_default()),
        _ if out.json => out.json(&answer),
        TokenCommand::List => {
            for t in answer["tokens"].as_array().cloned().unwrap_or_default() {
                println!(
                    "{}  {:<8}  sessions={}  {}",
                    t["id"].as_str().unwrap_or_default(),
                    t["role"].as_str().unwrap_or_default(),
                    t["sessions"],
                    t["label"].as_str().unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke(a) => println!("revoked {}", a.id),
    }
    Ok(EXIT_OK)
}
