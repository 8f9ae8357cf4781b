//! `lock NAME` and `release NAME`: one `acquire_lock` / `release_lock` call each.
//!
//! The lock belongs to the session the CLI acts as (`--session`, `COORD_SESSION`, or
//! `cli-<user>-<host>`), so a later `mcp-coord release NAME` from the same user releases it.

use clap::Args;
use serde_json::Value;

use super::client::int_arg;
use super::output::{human_secs, s};
use super::{CliError, EXIT_OK, Global, Out};
use crate::service::locks::{AcquireLockArgs, LockNameArgs};

#[derive(Args, Debug)]
pub struct LockArgs {
    /// Lock name: `pytest`, `pr-create`, `work`, `issue:42`, `wave:5c.1`, `path:src/x.rs`, …
    pub name: String,
    /// Seconds the lock lives unless extended or released (default: the daemon's, 300).
    #[arg(long, value_name = "S")]
    pub ttl: Option<u64>,
    /// Wait up to S seconds for the lock instead of failing at once.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub wait: u64,
    /// Why you take it (shown to others who find it held).
    #[arg(long)]
    pub reason: Option<String>,
    /// Take it over from a stale holder.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ReleaseArgs {
    /// The lock to release.
    pub name: String,
}

/// `acquire_lock` arguments shared by `lock` and `run`.
pub fn acquire_args(
    name: &str,
    ttl: Option<u64>,
    wait: u64,
    reason: Option<&str>,
    force: bool,
) -> AcquireLockArgs {
    AcquireLockArgs {
        lock_name: name.to_string(),
        timeout_seconds: ttl.map(int_arg),
        wait_seconds: Some(int_arg(wait)),
        reason: reason.map(str::to_string),
        force,
        branch: None,
    }
}

/// `release_lock` / `check_lock` of `name`.
pub fn lock_named(name: &str) -> LockNameArgs {
    LockNameArgs {
        lock_name: name.to_string(),
        branch: None,
    }
}

pub async fn lock(global: &Global, out: &Out, a: LockArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let result = daemon
        .call(
            "acquire_lock",
            &acquire_args(&a.name, a.ttl, a.wait, a.reason.as_deref(), a.force),
        )
        .await;
    let session = daemon.session().to_string();
    daemon.close().await;
    let granted = result?;
    if out.json {
        out.json(&granted);
    } else {
        println!("{}", granted_line(out, &granted, &session));
        println!(
            "{}",
            out.dim(&format!(
                "release with `mcp-coord release {}` (as session {session})",
                a.name
            ))
        );
    }
    warnings(&granted);
    Ok(EXIT_OK)
}

pub fn granted_line(out: &Out, g: &Value, session: &str) -> String {
    let lock = s(g, "lock");
    let token = g.get("token").map(|t| t.to_string()).unwrap_or_default();
    let expires = g
        .get("expires_in_seconds")
        .and_then(Value::as_f64)
        .map(|x| format!(", expires in {}", human_secs(x)))
        .unwrap_or_default();
    let again = if g.get("reentrant").and_then(Value::as_bool) == Some(true) {
        " (already yours: extended)"
    } else {
        ""
    };
    format!(
        "{} {} to {session} (token {token}{expires}){again}",
        out.green("locked"),
        out.bold(lock)
    )
}

/// Tool warnings (e.g. a TTL clamped to the maximum) go to stderr.
pub fn warnings(v: &Value) {
    if let Some(list) = v.get("warnings").and_then(Value::as_array) {
        for w in list.iter().filter_map(Value::as_str) {
            eprintln!("mcp-coord: warning: {w}");
        }
    }
}

pub async fn release(global: &Global, out: &Out, a: ReleaseArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let result = daemon.call("release_lock", &lock_named(&a.name)).await;
    daemon.close().await;
    let released = result?;
    if out.json {
        out.json(&released);
    } else {
        let msg = s(&released, "message");
        if released.get("released").and_then(Value::as_bool) == Some(false) {
            println!(
                "{}",
                if msg.is_empty() {
                    "nothing to release"
                } else {
                    msg
                }
            );
        } else {
            println!(
                "{} {}",
                out.green("released"),
                out.bold(s(&released, "lock"))
            );
        }
    }
    Ok(EXIT_OK)
}
