//! `mcp-coord`: `serve` runs the daemon; every other subcommand is a client of it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mcp_coord::cli;
use mcp_coord::config::{LoadOptions, Settings};

#[derive(Parser)]
#[command(
    name = "mcp-coord",
    version,
    about = "Coordination daemon for many AI coding-agent sessions (MCP: locks, sessions, messages)"
)]
struct Cli {
    #[command(flatten)]
    global: cli::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (embedded store unless REDIS_URL is set).
    Serve(ServeArgs),
    /// Install (or --uninstall) the systemd unit for this binary, then enable and start it.
    InstallService(cli::install_service::InstallServiceArgs),
    /// Check config, Redis, the daemon, both MCP transports and the Claude Code setup.
    Doctor(cli::doctor::DoctorArgs),
    /// Client subcommands (status, lock, run, hook, …), each in its own file under src/cli/.
    #[command(flatten)]
    Client(cli::Command),
}

#[derive(Args)]
struct ServeArgs {
    /// A TOML file with settings (see config/default.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to bind (loopback only).
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (default 8082).
    #[arg(long)]
    port: Option<u16>,
    /// Redis URL (default: the embedded store).
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// Log format: text, json or auto (json under systemd).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or mcp_coord=debug.
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
}

impl ServeArgs {
    fn overrides(&self) -> Vec<(String, String)> {
        let mut o = Vec::new();
        let mut push = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                o.push((key.to_string(), v.clone()));
            }
        };
        push("server.host", &self.host);
        push("server.port", &self.port.map(|p| p.to_string()));
        push("store.redis_url", &self.redis_url);
        push("log.format", &self.log_format);
        push("log.level", &self.log_level);
        o
    }
}

/// Exit code for a setting that prevents the start (sysexits' EX_USAGE is 64; 2 is what
/// clap uses for usage errors, and what the issue asks for).
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // An https:// daemon's CA (--ca-cert / MCP_COORD_CA_CERT), for every client made later.
    if let Some(ca) = &cli.global.ca_cert
        && let Err(e) = cli::http_client::trust_ca_file(ca)
    {
        eprintln!("mcp-coord: {e}");
        // A hook must not fail Claude Code's turn (exit 2 would block the prompt): it goes on
        // with the system's CAs, and reaching the daemon fails softly as it always does.
        if !matches!(cli.command, Command::Client(cli::Command::Hook(_))) {
            return ExitCode::from(cli::EXIT_USAGE);
        }
    }
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::InstallService(args) => cli::install_service::run(args),
        Command::Doctor(args) => cli::doctor::run(args),
        Command::Client(command) => cli::main(cli.global, command),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let opts = LoadOptions::from_process(args.config.clone(), args.overrides());
    let (settings, sources) = match Settings::load(&opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mcp-coord: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    mcp_coord::logging::init(&settings.log);
    mcp_coord::ops::memory::tune_allocator();
    let flavor = mcp_coord::runtime::Flavor::Daemon {
        worker_threads: settings.server.worker_threads,
    };
    let runtime = match mcp_coord::runtime::build(flavor) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let daemon = match mcp_coord::app::start(settings, &sources).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("{e:#}");
                return ExitCode::FAILURE;
            }
        };
        wait_for_signal().await;
        tracing::info!("shutting down");
        daemon.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd stop).
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
