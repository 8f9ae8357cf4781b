//! `mcp-coord hooks install [--project DIR | --user] [--uninstall] [--dry-run]`: merges our
//! Claude Code hooks into a `settings.json` without clobbering it.
//!
//! - Unknown keys and other people's hooks are kept, in their order.
//! - Ours are recognised by what they are — a `command` hook running `<…>/mcp-coord hook`,
//!   or the `mcp_tool` hook calling `bind_session` on server `coordination` — so a re-run
//!   replaces them (e.g. after the binary moved) and `--uninstall` removes only them.
//! - Idempotent: when nothing would change, nothing is written.
//! - Before writing, the old file is kept as `settings.json.bak-<unix seconds>`; the new
//!   one is written to a temporary file and renamed over (never half-written).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, Global, InstallMode};

#[derive(Subcommand, Debug)]
pub enum HooksCommand {
    /// Merge our hooks into a settings.json (or remove them with --uninstall).
    Install(InstallArgs),
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Project directory: writes DIR/.claude/settings.json (default: the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "user")]
    pub project: Option<PathBuf>,
    /// Writes ~/.claude/settings.json (every project of this user).
    #[arg(long)]
    pub user: bool,
    /// `--uninstall` removes our hooks (others stay); `--dry-run` prints the resulting
    /// settings.json.
    #[command(flatten)]
    pub mode: InstallMode,
    /// The daemon URL the hook command should use (baked in as `--url`); default: none,
    /// so the hook follows MCP_COORD_URL or http://127.0.0.1:8082.
    #[arg(long = "hook-url", value_name = "URL")]
    pub hook_url: Option<String>,
    /// A token file the hook command should read (baked in as `--token-file`), for a
    /// daemon with `[auth] required` when MCP_COORD_TOKEN is not in Claude Code's
    /// environment (the hook sends that one by itself). The path is written, never the token.
    #[arg(long = "hook-token-file", value_name = "PATH")]
    pub hook_token_file: Option<PathBuf>,
    /// The CA file the hook command should trust (baked in as `--ca-cert`) for an https://
    /// daemon with a private or self-signed certificate; default: the global `--ca-cert`.
    #[arg(long = "hook-ca-cert", value_name = "PATH")]
    pub hook_ca_cert: Option<PathBuf>,
    /// MCP server name the `bind_session` hook calls (as in `claude mcp add NAME`).
    #[arg(long, default_value = "coordination")]
    pub server: String,
    /// Leave out the waiting hook that wakes an idle agent when a message arrives.
    #[arg(long)]
    pub no_wake: bool,
}

/// Claude's own limit for our command hooks, in seconds (ours bounds itself to 0.8 s).
const COMMAND_TIMEOUT_S: u64 = 5;
/// Claude's limit for the waiting hook (a day: after that the session is abandoned anyway);
/// the hook itself gives up a little earlier (`--max-wait-seconds`).
pub const WAIT_TIMEOUT_S: u64 = 86_400;
const WAIT_MAX_S: u64 = WAIT_TIMEOUT_S - 400;
/// Events where the waiting hook is armed: at start (a spawned child idles before any
/// prompt) and after every turn.
pub const WAKE_EVENTS: &[&str] = &["SessionStart", "Stop"];

/// The events our command hook handles.
pub const COMMAND_EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PostToolUse",
    "Notification",
    "Stop",
    "SessionEnd",
];

/// Our hooks, keyed by event: the `mcp-coord hook` command on every event we handle, and
/// the `bind_session` identity handshake on UserPromptSubmit.
pub fn our_hooks(exe: &str, hook_url: Option<&str>, server: &str) -> Map<String, Value> {
    hooks_for(
        exe,
        &HookOptions {
            url: hook_url,
            ..HookOptions::default()
        },
        server,
        true,
    )
}

/// The global options baked into our hook command.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookOptions<'a> {
    /// `--url`.
    pub url: Option<&'a str>,
    /// `--token-file`.
    pub token_file: Option<&'a str>,
    /// `--ca-cert`.
    pub ca_cert: Option<&'a str>,
}

/// Global options our hook command may carry before `hook` (each takes one value).
const HOOK_GLOBALS: &[&str] = &["--url", "--token-file", "--ca-cert"];

/// [`our_hooks`], with or without the waiting (`asyncRewake`) hook.
pub fn hooks_for(exe: &str, options: &HookOptions, server: &str, wake: bool) -> Map<String, Value> {
    let mut command = shell_quote(exe);
    for (flag, value) in [
        ("--url", options.url),
        ("--token-file", options.token_file),
        ("--ca-cert", options.ca_cert),
    ] {
        if let Some(v) = value {
            command.push_str(&format!(" {flag} {}", shell_quote(v)));
        }
    }
    command.push_str(" hook");
    let cmd = json!({ "type": "command", "command": command, "timeout": COMMAND_TIMEOUT_S });
    let waiting = json!({
        "type": "command",
        "command": format!("{command} --wait --max-wait-seconds {WAIT_MAX_S}"),
        "asyncRewake": true,
        "timeout": WAIT_TIMEOUT_S,
    });
    let mut hooks = Map::new();
    for event in COMMAND_EVENTS {
        let mut entries = vec![cmd.clone()];
        if wake && WAKE_EVENTS.contains(event) {
            entries.push(waiting.clone());
        }
        if *event == "UserPromptSubmit" {
            entries.push(json!({
                "type": "mcp_tool",
                "server": server,
                "tool": "bind_session",
                "input": { "session_id": "${session_id}" }
            }));
        }
        let mut group = Map::new();
        if *event == "PostToolUse" {
            group.insert("matcher".into(), json!("*"));
        }
        group.insert("hooks".into(), Value::Array(entries));
        hooks.insert((*event).into(), json!([group]));
    }
    hooks
}

/// Is this hook entry one of ours?
pub fn is_ours(entry: &Value) -> bool {
    match entry.get("type").and_then(Value::as_str) {
        Some("command") => entry
            .get("command")
            .and_then(Value::as_str)
            .is_some_and(is_our_command),
        Some("mcp_tool") => entry.get("tool").and_then(Value::as_str) == Some("bind_session"),
        _ => false,
    }
}

/// `…/mcp-coord [--url U] [--token-file F] hook [--wait …]` (quoted or not).
fn is_our_command(command: &str) -> bool {
    let words = shell_words(command);
    let Some((program, mut rest)) = words.split_first() else {
        return false;
    };
    let base = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    while let [flag, _value, more @ ..] = rest
        && HOOK_GLOBALS.contains(&flag.as_str())
    {
        rest = more;
    }
    base == "mcp-coord" && rest.first().is_some_and(|sub| sub == "hook")
}

/// Splits a command line as a POSIX shell would (quotes, escapes); unparsable → no words.
fn shell_words(s: &str) -> Vec<String> {
    shell_words::split(s).unwrap_or_default()
}

/// `settings` without our hooks (others' entries, groups and events untouched).
pub fn remove_ours(mut settings: Value) -> Value {
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return settings;
    };
    for groups in hooks.values_mut() {
        let Some(list) = groups.as_array_mut() else {
            continue;
        };
        for group in list.iter_mut() {
            if let Some(entries) = group.get_mut("hooks").and_then(Value::as_array_mut) {
                entries.retain(|e| !is_ours(e));
            }
        }
        list.retain(|g| {
            g.get("hooks")
                .and_then(Value::as_array)
                .is_none_or(|e| !e.is_empty())
        });
    }
    hooks.retain(|_, groups| groups.as_array().is_none_or(|l| !l.is_empty()));
    if hooks.is_empty()
        && let Some(obj) = settings.as_object_mut()
    {
        obj.remove("hooks");
    }
    settings
}

/// `settings` with our hooks: events whose entries of ours already equal `ours` are left
/// exactly as they are (idempotence, and their position is kept); others get ours replaced
/// and appended.
pub fn merge(settings: Value, ours: &Map<String, Value>) -> Result<Value, String> {
    let mut settings = match settings {
        Value::Object(o) => Value::Object(o),
        Value::Null => json!({}),
        _ => return Err("settings.json is not a JSON object; fix or move it first".into()),
    };
    if settings.get("hooks").is_some_and(|h| !h.is_object()) {
        return Err("settings.json has a \"hooks\" that is not an object; fix it first".into());
    }
    for (event, wanted) in ours {
        let current: Vec<Value> = settings
            .pointer(&format!("/hooks/{event}"))
            .and_then(Value::as_array)
            .map(|groups| ours_in(groups))
            .unwrap_or_default();
        if current == ours_in(wanted.as_array().map(Vec::as_slice).unwrap_or(&[])) {
            continue;
        }
        // Remove our stale entries of this event only, then append the wanted group.
        if let Some(groups) = settings
            .pointer_mut(&format!("/hooks/{event}"))
            .and_then(Value::as_array_mut)
        {
            for g in groups.iter_mut() {
                if let Some(e) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                    e.retain(|x| !is_ours(x));
                }
            }
            groups.retain(|g| {
                g.get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|e| !e.is_empty())
            });
        }
        let hooks = settings
            .as_object_mut()
            .ok_or("settings.json is not an object")?
            .entry("hooks")
            .or_insert_with(|| json!({}));
        let list = hooks
            .as_object_mut()
            .ok_or("\"hooks\" is not an object")?
            .entry(event.clone())
            .or_insert_with(|| json!([]));
        match list.as_array_mut() {
            Some(l) => l.extend(wanted.as_array().cloned().unwrap_or_default()),
            None => return Err(format!("hooks.{event} is not a list; fix it first")),
        }
    }
    Ok(settings)
}

/// Our entries in an event's groups, in order (with their group's matcher).
fn ours_in(groups: &[Value]) -> Vec<Value> {
    groups
        .iter()
        .flat_map(|g| {
            let matcher = g.get("matcher").cloned().unwrap_or(Value::Null);
            g.get("hooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| is_ours(e))
                .map(move |e| json!([matcher.clone(), e]))
        })
        .collect()
}

/// What [`install`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Written { backup: Option<PathBuf> },
    DryRun(String),
}

/// Installs (or with `uninstall` removes) our hooks in the settings file at `path`.
pub fn install(
    path: &Path,
    ours: &Map<String, Value>,
    uninstall: bool,
    dry_run: bool,
) -> Result<Outcome, String> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let before: Value = match &existing {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            format!(
                "{} is not valid JSON ({e}); nothing was changed — fix it and re-run",
                path.display()
            )
        })?,
        None => Value::Null,
    };
    let after = if uninstall {
        remove_ours(before.clone())
    } else {
        merge(before.clone(), ours)?
    };
    if after == before || (before.is_null() && uninstall) {
        return Ok(Outcome::Unchanged);
    }
    let text = serde_json::to_string_pretty(&after).map_err(|e| e.to_string())? + "\n";
    if dry_run {
        return Ok(Outcome::DryRun(text));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let backup = match &existing {
        Some(old) => {
            let stamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut b = path.as_os_str().to_owned();
            b.push(format!(".bak-{stamp}"));
            let b = PathBuf::from(b);
            std::fs::write(&b, old).map_err(|e| format!("cannot write {}: {e}", b.display()))?;
            Some(b)
        }
        None => None,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    Ok(Outcome::Written { backup })
}

/// `'…'` around words with shell metacharacters (Claude runs the command through a shell).
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:=+@%,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub fn settings_path(a: &InstallArgs) -> Result<PathBuf, String> {
    if a.user {
        let home = std::env::var_os("HOME").ok_or("HOME is not set; use --project DIR")?;
        return Ok(PathBuf::from(home).join(".claude").join("settings.json"));
    }
    let dir = match &a.project {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?,
    };
    Ok(dir.join(".claude").join("settings.json"))
}

pub fn main(global: &Global, command: &HooksCommand) -> ExitCode {
    let HooksCommand::Install(a) = command;
    let path = match settings_path(a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mcp-coord: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p.display().to_string(),
        Err(e) => {
            eprintln!("mcp-coord: cannot find this binary's path: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let absolute = |p: &PathBuf| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string()
    };
    let token_file = a.hook_token_file.as_ref().map(absolute);
    let ca_cert = a
        .hook_ca_cert
        .as_ref()
        .or(global.ca_cert.as_ref())
        .map(absolute);
    // An https:// daemon on this machine ([tls] in its settings) is not the hook's default
    // URL: bake it in.
    let url = a.hook_url.clone().or_else(|| {
        let local = super::local_daemon_url();
        local.starts_with("https://").then_some(local)
    });
    let options = HookOptions {
        url: url.as_deref(),
        token_file: token_file.as_deref(),
        ca_cert: ca_cert.as_deref(),
    };
    let ours = hooks_for(&exe, &options, &a.server, !a.no_wake);
    match install(&path, &ours, a.mode.uninstall, a.mode.dry_run) {
        Ok(Outcome::Unchanged) => {
            let what = if a.mode.uninstall {
                "no hooks of ours in"
            } else {
                "hooks already installed in"
            };
            println!("{what} {} — nothing changed", path.display());
        }
        Ok(Outcome::DryRun(text)) => print!("{text}"),
        Ok(Outcome::Written { backup }) => {
            let verb = if a.mode.uninstall {
                "removed our hooks from"
            } else {
                "installed hooks in"
            };
            println!("{verb} {}", path.display());
            if let Some(b) = backup {
                println!("previous version kept as {}", b.display());
            }
            if !a.mode.uninstall {
                println!(
                    "events: {} (command: {exe} hook); UserPromptSubmit also calls {}'s bind_session",
                    COMMAND_EVENTS.join(", "),
                    a.server
                );
                if !a.no_wake {
                    println!(
                        "{}: `hook --wait` (asyncRewake) wakes the idle agent when a message arrives \
                         (--no-wake leaves it out)",
                        WAKE_EVENTS.join(", ")
                    );
                }
            }
        }
        Err(e) => {
            eprintln!("mcp-coord: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    }
    ExitCode::from(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_our_command_only() {
        assert!(is_our_command("/usr/local/bin/mcp-coord hook"));
        assert!(is_our_command(
            "'/home/a b/mcp-coord' --url http://x:1 hook"
        ));
        assert!(is_our_command("mcp-coord hook"));
        assert!(is_our_command(
            "/opt/mcp-coord --url http://x:1 hook --wait --max-wait-seconds 9"
        ));
        assert!(is_our_command(
            "mcp-coord --url http://x:1 --token-file '/home/a/.coord token' hook --wait"
        ));
        assert!(!is_our_command("mcp-coord --url hook status"));
        assert!(!is_our_command("mcp-coord --token-file f status"));
        assert!(!is_our_command("mcp-coord status"));
        assert!(!is_our_command("/bin/other-tool hook"));
        assert!(!is_our_command("echo mcp-coord hook done"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/bin/mcp-coord"), "/usr/bin/mcp-coord");
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
        assert_eq!(
            shell_words("'/a b/it'\\''s' hook"),
            vec!["/a b/it's", "hook"]
        );
    }
}
