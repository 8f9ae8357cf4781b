//! `mcp-coord hook`: the Claude Code `command` hook. Reads one hook event (JSON on stdin),
//! adds the facts only this process can see (environment, git, tmux — the daemon may run
//! under systemd with `ProtectHome`, and it does not share the agent's environment), POSTs
//! it to `/hooks/claude`, and prints the daemon's answer for Claude.
//!
//! With `--wait` it is the waiting hook instead ([`super::hook_wait`]).
//!
//! It must never break the agent: the whole exchange is bounded (800 ms by default), and
//! when the daemon is down, slow, or answers nonsense it prints nothing and exits 0. Even a
//! block decision is exit 0 with JSON on stdout, as Claude expects.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value};

use super::credentials::{self, Kind};
use super::{EXIT_OK, Global};
use crate::service::hooks::{HookFacts, Secret};

#[derive(Args, Debug)]
pub struct HookArgs {
    /// Total time budget for the exchange with the daemon, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 800)]
    pub timeout_ms: u64,
    /// Waiting mode (the asyncRewake hook): wait for a message that should wake this idle
    /// agent, then print it on stderr and exit 2. See `hook_wait`.
    #[arg(long)]
    pub wait: bool,
    /// Waiting mode: give up (exit 0) after this many seconds; keep it below the hook's
    /// `timeout` in settings.json.
    #[arg(long, value_name = "S", default_value_t = 86_000)]
    pub max_wait_seconds: u64,
}

/// Largest hook event read from stdin (Claude caps tool payloads far below this).
const MAX_STDIN: u64 = 4 * 1024 * 1024;

pub async fn main(global: &Global, a: HookArgs) -> u8 {
    let budget = Duration::from_millis(a.timeout_ms);
    let started = std::time::Instant::now();
    let mut raw = String::new();
    if std::io::stdin()
        .take(MAX_STDIN)
        .read_to_string(&mut raw)
        .is_err()
    {
        return EXIT_OK;
    }
    let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(&raw) else {
        return EXIT_OK;
    };
    if a.wait {
        let max_wait = Duration::from_secs(a.max_wait_seconds);
        return super::hook_wait::run(&global.base_url(), event, max_wait).await;
    }
    let hook_event = event.get("hook_event_name").and_then(Value::as_str);
    let with_git = hook_event == Some("SessionStart");
    let ending = hook_event == Some("SessionEnd");
    let cwd = event.get("cwd").and_then(Value::as_str).map(str::to_string);
    let claude_id = event_field(&event, "session_id");
    let mut facts = facts(cwd.as_deref(), with_git);
    let base = global.base_url();
    facts.credential = credentials::for_hook(&base, &claude_id).map(Secret);
    facts.want_credential = !ending;
    event.insert(
        "coord".into(),
        serde_json::to_value(facts).unwrap_or_default(),
    );

    let remaining = budget.saturating_sub(started.elapsed());
    let answer = post(&base, &Value::Object(event), remaining).await;
    if ending {
        credentials::forget(&base, Kind::Claude, &claude_id);
    }
    if let Some(answer) = answer.and_then(|a| keep_credential(a, &base, &claude_id)) {
        println!("{answer}");
    }
    EXIT_OK
}

/// Takes a newly issued credential out of the daemon's answer (stored in this Claude
/// session's private file: Claude, and so the model, never sees it) and returns what is
/// left for Claude, if anything.
fn keep_credential(mut answer: Value, base: &str, claude_id: &str) -> Option<String> {
    let map = answer.as_object_mut()?;
    if let Some(coord) = map.remove("coord")
        && let Some(secret) = coord.get("credential").and_then(Value::as_str)
        && let Err(e) = credentials::save(base, Kind::Claude, claude_id, secret)
    {
        eprintln!("mcp-coord hook: cannot store the session credential: {e}");
    }
    (!map.is_empty()).then(|| answer.to_string())
}

/// What this process knows that the daemon cannot: env, parent pid, and (at SessionStart)
/// the git branch and worktree root of `cwd`.
pub fn facts(cwd: Option<&str>, with_git: bool) -> HookFacts {
    // Environment variables passed along when set (seed 000's spawning convention + tmux).
    let env = |var: &str| {
        std::env::var(var)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let git_dir = cwd.filter(|_| with_git);
    HookFacts {
        session: env("COORD_SESSION"),
        master_session_id: env("MASTER_SESSION_ID"),
        task_id: env("TASK_ID"),
        role: env("SESSION_ROLE"),
        tmux_pane: env("TMUX_PANE"),
        host: Some(super::identity::hostname()),
        claude_pid: Some(claude_pid()),
        git_branch: git_dir.and_then(|d| git(d, &["rev-parse", "--abbrev-ref", "HEAD"])),
        worktree: git_dir.and_then(|d| git(d, &["rev-parse", "--show-toplevel"])),
        credential: None,
        want_credential: false,
    }
}

/// The Claude Code process: the hook's parent, or its grandparent when Claude ran the
/// hook through a shell (`sh -c '…'` that did not exec it). The daemon binds MCP
/// connections of this process to the hook's session (`mcp/peer_process.rs`).
fn claude_pid() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
    if !matches!(
        comm.trim(),
        "sh" | "bash" | "dash" | "zsh" | "ash" | "busybox"
    ) {
        return parent;
    }
    // /proc/<pid>/stat: `pid (comm) state ppid …`; comm may hold spaces, so cut after ')'.
    std::fs::read_to_string(format!("/proc/{parent}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = stat.rsplit_once(')')?.1;
            rest.split_whitespace().nth(1)?.parse().ok()
        })
        .filter(|ppid: &u32| *ppid > 1)
        .unwrap_or(parent)
}

fn git(dir: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// POSTs the event; `Some(answer)` only for a 2xx JSON object that is not `{}`.
async fn post(base: &str, event: &Value, budget: Duration) -> Option<Value> {
    if budget.is_zero() {
        return None;
    }
    let client = crate::cli::http_client::builder()
        .timeout(budget)
        .connect_timeout(budget)
        .build()
        .ok()?;
    let exchange = async {
        let response = super::client::with_bearer(client.post(format!("{base}/hooks/claude")))
            .json(event)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.text().await.ok()
    };
    let body = tokio::time::timeout(budget, exchange).await.ok()??;
    let parsed: Value = serde_json::from_str(&body).ok()?;
    match parsed {
        Value::Object(m) if m.is_empty() => None,
        Value::Object(_) => Some(parsed),
        _ => None,
    }
}

/// A string field of Claude's hook event, trimmed ("" when absent or not a string).
pub fn event_field(event: &Map<String, Value>, key: &str) -> String {
    event
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string()
}
