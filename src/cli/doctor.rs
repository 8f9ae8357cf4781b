//! `mcp-coord doctor [--url URL] [--json]`: checks everything between an agent and a working
//! coordination daemon, and prints one line per check — `ok`, `warn` or `FAIL` — with what to
//! do about it. Exit 0 when nothing failed, 1 otherwise.
//!
//! Checks: the settings load; the daemon answers `/health` at the URL (and it is mcp-coord,
//! with a reachable store); its Redis answers and is at least 7.0 (skipped for the embedded
//! store); an MCP round trip (initialize + tools/list) over Streamable HTTP and over legacy
//! SSE; `claude` on PATH, our server in Claude Code's config, our hooks installed.
//!
//! The store is checked through the daemon (`/health` reports its kind, reachability and
//! server version): the CLI is a client of the daemon and never opens the store itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::install_service::find_on_path;
use super::sse_probe;
use crate::config::redact_url;
use crate::config::{LoadOptions, Settings};
use crate::service::health::HealthReport;

/// Bound of each network check, so a doctor never hangs on a dead peer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The daemon's base URL (default: http://HOST:PORT from the settings).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A TOML file with settings, as for `serve`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the results as one JSON array instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// One check's verdict: what was checked and, unless ok, what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub level: Level,
    pub message: String,
}

fn check(check: &'static str, level: Level, message: impl Into<String>) -> Check {
    Check {
        check,
        level,
        message: message.into(),
    }
}

pub fn run(args: DoctorArgs) -> ExitCode {
    let runtime = match crate::runtime::build(crate::runtime::Flavor::Client) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let checks = runtime.block_on(run_checks(&args));
    // Write errors (a closed pipe, as with `| head`) are not worth a panic.
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&checks).unwrap_or_else(|_| "[]".into());
        let _ = writeln!(stdout, "{text}");
    } else {
        for c in &checks {
            let _ = writeln!(stdout, "{:<4} {}: {}", c.level.label(), c.check, c.message);
        }
    }
    if checks.iter().any(|c| c.level == Level::Fail) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs every check in order. Later checks that depend on a failed one are skipped.
pub async fn run_checks(args: &DoctorArgs) -> Vec<Check> {
    let mut out = Vec::new();
    let opts = LoadOptions::from_process(args.config.clone(), Vec::new());
    let settings = match Settings::load(&opts) {
        Ok((s, sources)) => {
            out.push(check(
                "config",
                Level::Ok,
                format!("settings load ({sources})"),
            ));
            s
        }
        Err(e) => {
            out.push(check(
                "config",
                Level::Fail,
                format!("{e} — `mcp-coord serve` would refuse to start; fix it in the named layer"),
            ));
            Settings::default()
        }
    };
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| {
            format!(
                "{}://{}:{}",
                settings.tls.scheme(),
                settings.server.host,
                settings.server.port
            )
        })
        .trim_end_matches('/')
        .to_string();
    let (daemon, health) = match fetch_health(&base).await {
        Ok(report) => (daemon_verdict(&base, &report), Some(report)),
        Err(failed) => (failed, None),
    };
    out.push(redis_check(&settings, &base, health.as_ref()));
    out.push(daemon);
    if health.is_some() {
        out.push(streamable_check(&base).await);
        out.push(sse_check(&base).await);
    }

    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    out.push(match find_on_path("claude") {
        Some(p) => check(
            "claude",
            Level::Ok,
            format!("Claude Code at {}", p.display()),
        ),
        None => check(
            "claude",
            Level::Warn,
            "`claude` is not on PATH (Claude Code not installed, or another MCP client is used)",
        ),
    });
    out.push(claude_config_check(home.as_deref(), &cwd, &base));
    out.push(hooks_check(home.as_deref(), &cwd));
    out
}

/// The daemon's store as its `/health` reports it; without an answer, only what the
/// settings say.
fn redis_check(settings: &Settings, base: &str, health: Option<&HealthReport>) -> Check {
    let Some(report) = health else {
        return if settings.store.redis_url.is_empty() {
            check(
                "redis",
                Level::Ok,
                "no REDIS_URL: the daemon uses the embedded store (state local to one daemon); \
                 set REDIS_URL to share state across daemons",
            )
        } else {
            check(
                "redis",
                Level::Warn,
                format!(
                    "Redis at {} not checked: doctor asks the daemon about its store, and nothing \
                     answers at {base}; start the daemon, then run doctor again",
                    redact_url(&settings.store.redis_url)
                ),
            )
        };
    };
    let store = &report.store;
    if store.kind != "redis" {
        return check(
            "redis",
            Level::Ok,
            format!(
                "the daemon uses the {} store ({}): state local to one daemon; set REDIS_URL to \
                 share state across daemons",
                store.kind, store.description
            ),
        );
    }
    let shown = &store.description;
    if !store.reachable {
        return check(
            "redis",
            Level::Fail,
            format!(
                "Redis does not answer the daemon ({}): {shown}; start it (`sudo systemctl start \
                 redis-server`), check with `redis-cli -u URL ping`, or fix REDIS_URL",
                store.error.as_deref().unwrap_or("no detail")
            ),
        );
    }
    let version = store.server_version.as_deref().unwrap_or("unknown");
    match parse_major_minor(version) {
        Some(v) if v >= (7, 0) && store.persistence_warning.is_some() => check(
            "redis",
            Level::Warn,
            format!(
                "Redis {version} answers: {shown}; but {}",
                store.persistence_warning.as_deref().unwrap_or_default()
            ),
        ),
        Some(v) if v >= (7, 0) => check(
            "redis",
            Level::Ok,
            format!("Redis {version} answers: {shown}"),
        ),
        Some(_) => check(
            "redis",
            Level::Warn,
            format!(
                "Redis {version} ({shown}) is older than 7.0, the command set mcp-coord targets; \
                 upgrade Redis (Debian 12 ships 7.0)"
            ),
        ),
        None => check(
            "redis",
            Level::Warn,
            format!("Redis answers ({shown}) but reports version {version:?}"),
        ),
    }
}

fn parse_major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The daemon's `/health` report, or the failed `daemon` check saying why there is none
/// (nothing listens, or something that is not mcp-coord does).
async fn fetch_health(base: &str) -> Result<HealthReport, Check> {
    let url = format!("{base}/health");
    let port = reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.port_or_known_default())
        .map(|p| p.to_string())
        .unwrap_or_else(|| "PORT".into());
    let client = crate::cli::http_client::builder()
        .timeout(CHECK_TIMEOUT)
        .build()
        .map_err(|e| check("daemon", Level::Fail, format!("HTTP client: {e}")))?;
    let resp = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) => {
            let detail = crate::cli::client::root_cause(&e);
            let sentence = if let Some(untrusted) =
                crate::cli::http_client::untrusted_certificate(base, &detail)
            {
                untrusted
            } else if e.is_connect() {
                format!(
                    "nothing answers at {base} (connection refused): start the daemon \
                     (`mcp-coord serve`, `systemctl start mcp-coord`, or \
                     `scripts/start-server.sh --daemon`), or point --url / SERVER_PORT at the \
                     port it listens on"
                )
            } else {
                format!("GET {url} failed: {e} (is the port right? `ss -ltnp 'sport = :{port}'`)")
            };
            return Err(check("daemon", Level::Fail, sentence));
        }
    };
    let status = resp.status();
    resp.json::<HealthReport>().await.map_err(|_| {
        check(
            "daemon",
            Level::Fail,
            format!(
                "{base} answers HTTP {status} but is not mcp-coord: another program holds port \
                 {port} (`ss -ltnp 'sport = :{port}'` shows which); run the daemon on another \
                 port and point --url at it"
            ),
        )
    })
}

/// The `daemon` check of an mcp-coord that answered.
fn daemon_verdict(base: &str, report: &HealthReport) -> Check {
    let version = &report.version;
    let kind = &report.store.kind;
    if report.status == "ok" {
        let mut msg = format!(
            "mcp-coord {version} at {base}, up {} s, store {kind} reachable ({} ms)",
            report.uptime_seconds,
            report.store.round_trip_ms.unwrap_or_default()
        );
        if version != env!("CARGO_PKG_VERSION") {
            msg.push_str(&format!(
                " (this CLI is {}; restart the daemon after upgrading)",
                env!("CARGO_PKG_VERSION")
            ));
        }
        match &report.store.grants_held {
            Some(hold) => {
                msg.push_str(&format!(
                    "; but lock grants are HELD BACK until {} (store clock ms {}): {}. They resume \
                     by themselves then; `mcp-coord resume-grants` ends the hold now, once every \
                     session that held a lock before is known to be gone",
                    crate::service::human_time::utc_time(hold.until_ms),
                    hold.until_ms,
                    hold.reason
                ));
                check("daemon", Level::Warn, msg)
            }
            None => check("daemon", Level::Ok, msg),
        }
    } else {
        check(
            "daemon",
            Level::Fail,
            format!(
                "mcp-coord {version} at {base} is degraded: its store ({kind}) is unreachable: {} \
                 — tools answer `store unavailable` until it is back; start Redis \
                 (`sudo systemctl start redis-server`); the daemon reconnects by itself",
                report.store.error.as_deref().unwrap_or("no detail")
            ),
        )
    }
}

async fn streamable_check(base: &str) -> Check {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    let url = format!("{base}/mcp");
    let round_trip = async {
        let http = crate::cli::http_client::client()?;
        let transport = StreamableHttpClientTransport::with_client(
            http,
            rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
                url.clone(),
            ),
        );
        let client = ().serve(transport).await.map_err(|e| e.to_string())?;
        let tools = client.list_all_tools().await.map_err(|e| e.to_string())?;
        let server = client
            .peer_info()
            .and_then(|i| i.server_info.as_ref().map(|s| s.name.to_string()))
            .unwrap_or_default();
        let _ = client.cancel().await;
        Ok::<_, String>((server, tools.len()))
    };
    match tokio::time::timeout(CHECK_TIMEOUT, round_trip).await {
        Ok(Ok((server, n))) => check(
            "streamable-http",
            Level::Ok,
            format!("{url}: initialize + tools/list answered by {server} ({n} tools)"),
        ),
        Ok(Err(e)) => check(
            "streamable-http",
            Level::Fail,
            format!("{url}: MCP round trip failed: {e}"),
        ),
        Err(_) => check(
            "streamable-http",
            Level::Fail,
            format!("{url}: no answer within {} s", CHECK_TIMEOUT.as_secs()),
        ),
    }
}

async fn sse_check(base: &str) -> Check {
    let url = format!("{base}/sse");
    match sse_probe::probe(&url, CHECK_TIMEOUT).await {
        Ok(r) => check(
            "legacy-sse",
            Level::Ok,
            format!(
                "{url}: initialize + tools/list answered by {} ({} tools)",
                r.server, r.tools
            ),
        ),
        Err(e) => check(
            "legacy-sse",
            Level::Fail,
            format!("{url}: MCP round trip failed: {e}"),
        ),
    }
}

/// MCP servers in Claude Code's config files: (file, server name, url).
fn configured_servers(home: Option<&Path>, cwd: &Path) -> Vec<(PathBuf, String, String)> {
    let mut found = Vec::new();
    let mut collect = |file: &Path, servers: Option<&Value>| {
        if let Some(Value::Object(map)) = servers {
            for (name, server) in map {
                if let Some(url) = server.get("url").and_then(Value::as_str) {
                    found.push((file.to_path_buf(), name.clone(), url.to_string()));
                }
            }
        }
    };
    if let Some(home) = home {
        let file = home.join(".claude.json");
        if let Some(json) = read_json(&file) {
            collect(&file, json.get("mcpServers"));
            let project = cwd.display().to_string();
            collect(
                &file,
                json.get("projects")
                    .and_then(|p| p.get(&project))
                    .and_then(|p| p.get("mcpServers")),
            );
        }
    }
    let file = cwd.join(".mcp.json");
    if let Some(json) = read_json(&file) {
        collect(&file, json.get("mcpServers"));
    }
    found
}

fn claude_config_check(home: Option<&Path>, cwd: &Path, base: &str) -> Check {
    let servers = configured_servers(home, cwd);
    let ours = |url: &str| {
        let url = url.split('?').next().unwrap_or(url).trim_end_matches('/');
        (url.ends_with("/sse") || url.ends_with("/mcp"))
            && same_port(url, base)
            && (url.contains("127.0.0.1") || url.contains("localhost") || url.contains("[::1]"))
    };
    let mine: Vec<_> = servers.iter().filter(|(_, _, url)| ours(url)).collect();
    if let Some((file, name, url)) = mine.first() {
        return check(
            "claude-config",
            Level::Ok,
            format!("server {name:?} → {url} in {}", file.display()),
        );
    }
    check(
        "claude-config",
        Level::Warn,
        format!(
            "no MCP server pointing at {base} in ~/.claude.json or ./.mcp.json{}: \
             `claude mcp add coordination --transport sse {base}/sse`",
            if servers.is_empty() {
                String::new()
            } else {
                format!(
                    " (found: {})",
                    servers
                        .iter()
                        .map(|(_, n, u)| format!("{n} → {u}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
    )
}

fn same_port(url: &str, base: &str) -> bool {
    let port = |u: &str| {
        reqwest::Url::parse(u)
            .ok()
            .and_then(|u| u.port_or_known_default())
    };
    port(url).is_some() && port(url) == port(base)
}

fn hooks_check(home: Option<&Path>, cwd: &Path) -> Check {
    let mut files = vec![
        cwd.join(".claude/settings.json"),
        cwd.join(".claude/settings.local.json"),
    ];
    if let Some(home) = home {
        files.push(home.join(".claude/settings.json"));
    }
    for file in &files {
        if let Some(json) = read_json(file)
            && json.get("hooks").is_some_and(has_our_hook)
        {
            return check(
                "claude-hooks",
                Level::Ok,
                format!("mcp-coord hooks in {}", file.display()),
            );
        }
    }
    check(
        "claude-hooks",
        Level::Warn,
        "no `mcp-coord hook` commands in .claude/settings.json, .claude/settings.local.json or \
         ~/.claude/settings.json: agents work without them, but hooks bind each agent to its \
         session and deliver messages to idle agents (see the README's Claude Code section)",
    )
}

/// True when any `command` string under `hooks` runs `mcp-coord hook`.
fn has_our_hook(v: &Value) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, v)| {
            (k == "command" && v.as_str().is_some_and(|c| c.contains("mcp-coord hook")))
                || has_our_hook(v)
        }),
        Value::Array(items) => items.iter().any(has_our_hook),
        _ => false,
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_hook_commands_anywhere_under_hooks() {
        let hooks = json!({"SessionStart": [{"hooks": [
            {"type": "command", "command": "/usr/local/bin/mcp-coord hook session-start"}]}]});
        assert!(has_our_hook(&hooks));
        assert!(!has_our_hook(
            &json!({"Stop": [{"hooks": [{"command": "echo hi"}]}]})
        ));
    }

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(parse_major_minor("7.0.15"), Some((7, 0)));
        assert!(parse_major_minor("6.2.6").unwrap() < (7, 0));
        assert_eq!(parse_major_minor("garbage"), None);
    }

    #[test]
    fn recognises_our_server_in_claude_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".mcp.json"),
            r#"{"mcpServers":{"coordination":{"type":"sse","url":"http://127.0.0.1:8082/sse?session=${COORD_SESSION:-}"}}}"#,
        )
        .unwrap();
        let ok = claude_config_check(None, dir.path(), "http://127.0.0.1:8082");
        assert_eq!(ok.level, Level::Ok, "{ok:?}");
        let other_port = claude_config_check(None, dir.path(), "http://127.0.0.1:9000");
        assert_eq!(other_port.level, Level::Warn);
        assert!(
            other_port
                .message
                .contains("coordination → http://127.0.0.1:8082/sse")
        );
    }
}
