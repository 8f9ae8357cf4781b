//! `audit --since 1h [--session X] [--kind K]`: the daemon's audit log (the `audit_log`
//! tool), one entry per line, oldest first.
//!
//! On this command `--session` names the session to filter by, not the one to act as
//! (reading the log changes nothing, so it connects under the CLI's default name). Only a
//! `--session` given on the command line filters: `COORD_SESSION` in an agent's environment
//! does not.

use clap::Args;
use serde_json::Value;

use super::output::s;
use super::{CliError, Daemon, EXIT_OK, Global, Out, identity};
use crate::service::audit::types::AuditLogArgs;
use crate::service::human_time::utc_time;

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// How far back: 15m, 1h, 2d, "1h 30m".
    #[arg(long, default_value = "1h")]
    pub since: String,
    /// Only entries of this kind (lock_granted, lock_refused, message_sent, session_ended, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// At most this many entries (the newest).
    #[arg(long, default_value_t = 200)]
    pub limit: u32,
}

/// Whether `--session` was given on the command line (not only through `COORD_SESSION`).
fn session_flag_given() -> bool {
    std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == "--session" || a.starts_with("--session=")
    })
}

pub async fn main(global: &Global, out: &Out, a: AuditArgs) -> Result<u8, CliError> {
    let filter = global.session.clone().filter(|_| session_flag_given());
    let args = AuditLogArgs {
        since: Some(a.since),
        session: filter,
        kind: a.kind,
        limit: Some(a.limit),
    };
    let daemon = Daemon::connect(&global.base_url(), &identity::resolve(None)?).await?;
    let result = daemon.call("audit_log", &args).await;
    daemon.close().await;
    let answer: Value = result?;
    if out.json {
        out.json(&answer);
        return Ok(EXIT_OK);
    }
    let entries = answer
        .get("entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        println!("no audit entries match");
    }
    for e in &entries {
        println!("{}", line(out, e));
    }
    if answer.get("truncated").and_then(Value::as_bool) == Some(true) {
        eprintln!(
            "(only the newest {} shown; raise --limit or narrow --since)",
            entries.len()
        );
    }
    if let Some(w) = answer.get("warning").and_then(Value::as_str) {
        eprintln!("warning: {w}");
    }
    Ok(EXIT_OK)
}

/// `14:02:11 UTC  lock_granted   ok       worker-1  lock=resource:pytest  by=worker-1 (sse)`
fn line(out: &Out, e: &Value) -> String {
    let at = e.get("at_ms").and_then(Value::as_i64).unwrap_or(0);
    let outcome = s(e, "outcome");
    let painted = match outcome {
        "ok" => out.green(outcome),
        "refused" => out.yellow(outcome),
        _ => out.red(outcome),
    };
    let mut text = format!(
        "{}  {:<20} {:<8} {}",
        out.dim(&utc_time(at)),
        s(e, "kind"),
        painted,
        s(e, "session")
    );
    for key in ["lock", "target", "detail"] {
        let v = s(e, key);
        if !v.is_empty() {
            text.push_str(&format!("  {key}={v}"));
        }
    }
    if let Some(by) = e.get("by") {
        text.push_str(&out.dim(&format!(
            "  by={} ({} {})",
            s(by, "session"),
            s(by, "transport"),
            s(by, "connection")
        )));
    }
    text
}
