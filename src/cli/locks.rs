//! `locks [PATTERN]`: every held lock, one per line, with its waiter count (`list_locks`,
//! page by page).

use clap::Args;
use serde_json::{Value, json};

use super::output::{human_secs, s};
use super::{CliError, Daemon, EXIT_OK, Global, Out};
use crate::service::locks::{ListLocksArgs, MAX_LIST_LIMIT};

#[derive(Args, Debug)]
pub struct LocksArgs {
    /// Glob over lock names, e.g. `resource:*` or `issue:*`.
    #[arg(default_value = "*")]
    pub pattern: String,
}

pub async fn main(global: &Global, out: &Out, a: LocksArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let result = fetch(&daemon, &a.pattern).await;
    daemon.close().await;
    let locks = result?;
    if out.json {
        out.json(&json!({ "pattern": a.pattern, "count": locks.len(), "locks": locks }));
        return Ok(EXIT_OK);
    }
    if locks.is_empty() {
        println!(
            "no locks held{}",
            if a.pattern == "*" {
                String::new()
            } else {
                format!(" matching {}", a.pattern)
            }
        );
    }
    for l in &locks {
        println!("{}", line(out, l));
    }
    Ok(EXIT_OK)
}

/// The locks matching `pattern` (every page of `list_locks`), each with a `waiters` count
/// filled in.
pub async fn fetch(daemon: &Daemon, pattern: &str) -> Result<Vec<Value>, CliError> {
    let mut locks: Vec<Value> = Vec::new();
    let mut cursor = None;
    loop {
        let listed = daemon
            .call(
                "list_locks",
                &ListLocksArgs {
                    pattern: Some(pattern.to_string()),
                    limit: Some(MAX_LIST_LIMIT),
                    cursor: cursor.take(),
                },
            )
            .await?;
        if let Some(page) = listed.get("locks").and_then(Value::as_array) {
            locks.extend(page.iter().cloned());
        }
        match listed.get("next_cursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    Ok(locks)
}

/// `resource:pytest  held by child_web_task_3 (active, 12s ago)  token 7  expires in 4m12s  2 waiting`
pub fn line(out: &Out, l: &Value) -> String {
    let tier = s(l, "holder_tier");
    let seen = l
        .get("holder_last_seen_ms_ago")
        .and_then(Value::as_f64)
        .map(|ms| format!(", {} ago", human_secs(ms / 1000.0)))
        .unwrap_or_default();
    let expires = l
        .get("expires_in_seconds")
        .and_then(Value::as_f64)
        .map(|x| format!("  expires in {}", human_secs(x)))
        .unwrap_or_default();
    let waiters = l.get("waiters").and_then(Value::as_u64).unwrap_or(0);
    let waiting = if waiters > 0 {
        format!("  {}", out.yellow(&format!("{waiters} waiting")))
    } else {
        String::new()
    };
    let reason = match s(l, "reason") {
        "" => String::new(),
        r => format!("  {}", out.dim(&format!("\"{r}\""))),
    };
    let token = l.get("token").map(|t| t.to_string()).unwrap_or_default();
    format!(
        "{} held by {} ({}{seen})  token {token}{expires}{waiting}{reason}",
        out.bold(&format!("{:<24}", s(l, "lock"))),
        out.cyan(s(l, "holder")),
        out.tier(tier),
    )
}
