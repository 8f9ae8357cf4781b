//! The client subcommands: everything but `serve` talks to a running daemon.
//!
//! Data commands (`status`, `lock`, `run`, …) are MCP clients of `/mcp` that call tools by
//! name, so the CLI never re-implements service logic; `hook` POSTs to `/hooks/claude`;
//! `watch` follows `GET /events`. `hooks install` and `mcp-config` only touch local files
//! or print text.
//!
//! Exit codes (documented in the README "CLI"):
//! 0 ok · 1 refused or failed · 2 usage · 3 daemon unreachable.
//! `run` exits with its command's status (128+N when the command died of signal N).

pub mod admin;
pub mod audit;
pub mod client;
pub mod credentials;
pub mod doctor;
pub mod hook;
pub mod hook_wait;
pub mod hooks_install;
pub mod http_client;
pub mod identity;
pub mod inbox;
pub mod install_service;
pub mod lock;
pub mod locks;
pub mod mcp_config;
pub mod output;
pub mod resume_grants;
pub mod run;
pub mod send;
pub mod sessions;
mod sse_probe;
pub mod status;
pub mod tasks;
pub mod tasks_file;
pub mod token;
pub mod watch;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

pub use client::Daemon;
pub use output::Out;

/// Where the daemon listens unless `--url` / `MCP_COORD_URL` say otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8082";

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNREACHABLE: u8 = 3;

/// Options every client subcommand understands.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Daemon base URL (`/mcp`, `/sse` suffixes are ignored); default http://127.0.0.1:8082
    /// (`mcp-config` and `hooks install`: https:// when this machine's settings have [tls]).
    #[arg(long, global = true, env = "MCP_COORD_URL", value_name = "URL")]
    pub url: Option<String>,
    /// A PEM file with the CA (or self-signed certificate) of an https:// daemon, trusted
    /// besides the system's CAs.
    #[arg(long, global = true, env = "MCP_COORD_CA_CERT", value_name = "PATH")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Print JSON (the tools' own answers) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The session the CLI acts as (sent as X-Coord-Session); default `cli-<user>-<host>`.
    /// `run` always acts as its own `<session>.run-<pid>` so its lock belongs to that
    /// invocation only.
    #[arg(long, global = true, env = "COORD_SESSION", value_name = "NAME")]
    pub session: Option<String>,
    /// The bearer token for a daemon that requires one (`[auth] required`), sent on every
    /// request. Prefer MCP_COORD_TOKEN or --token-file: a --token value shows in `ps`.
    #[arg(
        long,
        global = true,
        env = "MCP_COORD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// A file whose first line is the bearer token (e.g. `token create > FILE`, mode 0600);
    /// used when no --token / MCP_COORD_TOKEN is given.
    #[arg(long, global = true, env = "MCP_COORD_TOKEN_FILE", value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
}

/// The flags the installing subcommands share (`hooks install`, `install-service`).
#[derive(Args, Debug, Clone, Copy)]
pub struct InstallMode {
    /// Remove what this command installs instead (nothing else is touched).
    #[arg(long)]
    pub uninstall: bool,
    /// Print what would be written and run; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl Global {
    /// The base URL without a trailing `/`, `/mcp` or `/sse`.
    pub fn base_url(&self) -> String {
        normalize_url(self.url.as_deref().unwrap_or(DEFAULT_URL))
    }

    /// For the commands that write client setups (`mcp-config`, `hooks install`): the given
    /// URL, else this machine's daemon as its settings say (https:// with `[tls]`).
    pub fn setup_url(&self) -> String {
        match &self.url {
            Some(url) => normalize_url(url),
            None => local_daemon_url(),
        }
    }

    /// The session name to act as (validated).
    pub fn session_name(&self) -> Result<String, CliError> {
        identity::resolve(self.session.as_deref())
    }

    /// The bearer token to send: `--token` / `MCP_COORD_TOKEN`, else the first line of
    /// `--token-file` / `MCP_COORD_TOKEN_FILE`; `None` when neither is given (or empty).
    pub fn bearer(&self) -> Result<Option<String>, CliError> {
        let given = self
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(t) = given {
            return Ok(Some(t.to_string()));
        }
        let Some(file) = &self.token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            CliError::Usage(format!(
                "cannot read the token file {} ({e}); give a readable file with the token on \
                 its first line, or set MCP_COORD_TOKEN",
                file.display()
            ))
        })?;
        Ok(text
            .lines()
            .next()
            .map(|l| l.trim().to_string())
            .filter(|t| !t.is_empty()))
    }

    /// Connects as [`Global::session_name`].
    pub async fn connect(&self) -> Result<Daemon, CliError> {
        Daemon::connect(&self.base_url(), &self.session_name()?).await
    }
}

/// `http(s)://HOST:PORT` of the daemon this machine's settings describe (config file in the
/// working directory, `.env`, environment); a wildcard bind is reached on loopback. The
/// default URL when the settings do not load (`doctor` says why).
pub fn local_daemon_url() -> String {
    let opts = crate::config::LoadOptions::from_process(None, Vec::new());
    let Ok((settings, _)) = crate::config::Settings::load(&opts) else {
        return DEFAULT_URL.to_string();
    };
    let host = match settings.server.host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => settings.server.host.clone(),
    };
    format!(
        "{}://{host}:{}",
        settings.tls.scheme(),
        settings.server.port
    )
}

pub fn normalize_url(url: &str) -> String {
    let mut u = url.trim().trim_end_matches('/').to_string();
    for suffix in ["/mcp", "/sse"] {
        if let Some(stripped) = u.strip_suffix(suffix) {
            u = stripped.to_string();
        }
    }
    u
}

/// The client subcommands (joined into `mcp-coord`'s command enum with `#[command(flatten)]`).
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Sessions as a tree (tiers, states, progress) and locks with holders and waiters.
    Status(status::StatusArgs),
    /// Sessions, one per line.
    Sessions(sessions::SessionsArgs),
    /// Locks, one per line.
    Locks(locks::LocksArgs),
    /// Acquire a lock (it stays held until released or its TTL runs out).
    Lock(lock::LockArgs),
    /// Release a lock this session holds.
    Release(lock::ReleaseArgs),
    /// Run a command while holding a lock, like flock(1): mcp-coord run --lock pytest -- pytest -x
    Run(run::RunArgs),
    /// Send a message to a session (or `parent`, `children`, `role:<role>`, `project`).
    Send(send::SendArgs),
    /// The task board (counts, ready, blocked by what, who works on what); `tasks board`.
    Tasks(tasks::TasksArgs),
    /// Read this session's unread messages.
    Inbox(inbox::InboxArgs),
    /// Follow live events (sessions, locks, messages), one line each.
    Watch(watch::WatchArgs),
    /// The audit log: who changed what, when, and who was refused (`--session X` filters).
    Audit(audit::AuditArgs),
    /// Admin: grant locks again now, ending the hold after a store data loss (see /health).
    ResumeGrants(resume_grants::ResumeGrantsArgs),
    /// Admin (admin token): `admin release-lock NAME`, `admin end-session S`, `admin inbox S`, `admin kill-session S`.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Bearer tokens (admin): `token create --role agent --sessions 'child_web_*'`, `token list`, `token revoke ID`.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Claude Code hook handler: reads the hook JSON on stdin, answers for the daemon.
    Hook(hook::HookArgs),
    /// Install or remove our Claude Code hooks in a settings.json.
    Hooks {
        #[command(subcommand)]
        command: hooks_install::HooksCommand,
    },
    /// Print the `claude mcp add` line and the `.mcp.json` snippet for this daemon.
    McpConfig(mcp_config::McpConfigArgs),
}

/// Why a client command did not succeed; each maps to one exit code.
#[derive(Debug)]
pub enum CliError {
    /// Nothing answers at the URL (exit 3).
    Unreachable { url: String, detail: String },
    /// The daemon refused (a tool answered `isError`), exit 1.
    Refused { message: String, json: Value },
    /// Anything else that went wrong, exit 1.
    Failed(String),
    /// Bad arguments, exit 2.
    Usage(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Unreachable { .. } => EXIT_UNREACHABLE,
            CliError::Refused { .. } | CliError::Failed(_) => EXIT_FAILED,
            CliError::Usage(_) => EXIT_USAGE,
        }
    }

    /// Prints the error the way `--json` or a person wants it.
    pub fn report(&self, json: bool) {
        match self {
            CliError::Unreachable { url, detail } => eprintln!(
                "mcp-coord daemon not reachable at {url}: {detail} — start it with \
                 `mcp-coord serve` or `systemctl --user start mcp-coord`"
            ),
            CliError::Refused {
                message,
                json: body,
            } => {
                if json {
                    println!("{}", output::pretty(body));
                } else {
                    eprintln!("mcp-coord: {message}");
                }
            }
            CliError::Failed(m) => eprintln!("mcp-coord: {m}"),
            CliError::Usage(m) => eprintln!("mcp-coord: {m}"),
        }
    }
}

/// Runs one client subcommand to completion and returns the process exit code.
pub fn main(global: Global, command: Command) -> ExitCode {
    // Commands that need no daemon and no runtime.
    match &command {
        Command::Hooks { command } => return hooks_install::main(&global, command),
        Command::McpConfig(args) => return mcp_config::main(&global, args),
        _ => {}
    }
    // The bearer token every request of this invocation sends. A hook never fails the agent:
    // an unreadable token file makes it go without one (the daemon then says 401).
    match global.bearer() {
        Ok(token) => client::use_bearer(token),
        Err(_) if matches!(command, Command::Hook(_)) => client::use_bearer(None),
        Err(e) => {
            e.report(global.json);
            return ExitCode::from(e.exit_code());
        }
    }
    let runtime = match crate::runtime::build(crate::runtime::Flavor::Client) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let out = Out::stdout(global.json);
    let result = runtime.block_on(async {
        match command {
            Command::Status(a) => status::main(&global, &out, a).await,
            Command::Sessions(a) => sessions::main(&global, &out, a).await,
            Command::Locks(a) => locks::main(&global, &out, a).await,
            Command::Lock(a) => lock::lock(&global, &out, a).await,
            Command::Release(a) => lock::release(&global, &out, a).await,
            Command::Run(a) => run::main(&global, a).await,
            Command::Send(a) => send::main(&global, &out, a).await,
            Command::Tasks(a) => tasks::main(&global, &out, a).await,
            Command::Inbox(a) => inbox::main(&global, &out, a).await,
            Command::Watch(a) => watch::main(&global, &out, a).await,
            Command::Audit(a) => audit::main(&global, &out, a).await,
            Command::ResumeGrants(a) => resume_grants::main(&global, &out, a).await,
            Command::Token(a) => token::main(&global, &out, a).await,
            Command::Admin(a) => admin::main(&global, &out, a).await,
            Command::Hook(a) => Ok(hook::main(&global, a).await),
            Command::Hooks { .. } | Command::McpConfig(_) => Ok(EXIT_OK),
        }
    });
    // Background tasks of the MCP client must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.report(global.json);
            ExitCode::from(e.exit_code())
        }
    }
}
