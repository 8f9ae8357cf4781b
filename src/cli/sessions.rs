//! `sessions`: every session, one per line (`list_sessions`).

use clap::Args;
use serde_json::Value;

use super::output::{human_secs, s};
use super::{CliError, EXIT_OK, Global, Out};
use crate::service::sessions::ListSessionsArgs;

#[derive(Args, Debug)]
pub struct SessionsArgs {
    /// Include ended sessions (kept for the configured retention).
    #[arg(long)]
    pub all: bool,
}

pub async fn main(global: &Global, out: &Out, a: SessionsArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let result = daemon
        .call(
            "list_sessions",
            &ListSessionsArgs {
                include_ended: a.all,
            },
        )
        .await;
    daemon.close().await;
    let listed = result?;
    if out.json {
        out.json(&listed);
        return Ok(EXIT_OK);
    }
    let sessions = listed
        .get("sessions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if sessions.is_empty() {
        println!("no sessions");
    }
    for v in &sessions {
        let parent = match s(v, "parent") {
            "" => String::new(),
            p => format!("  parent {p}"),
        };
        let branch = match s(v, "branch") {
            "" => String::new(),
            b => format!("  branch {b}"),
        };
        println!(
            "{}{}{}",
            summary(out, v),
            out.dim(&parent),
            out.dim(&branch)
        );
    }
    Ok(EXIT_OK)
}

/// `name  tier  state 40% "summary"  seen 12s ago`, the part of a session line that
/// `sessions` and `status` share.
pub fn summary(out: &Out, v: &Value) -> String {
    let tier = match s(v, "tier") {
        "" => s(v, "status"),
        t => t,
    };
    let state = match s(v, "state") {
        "" => String::new(),
        st => {
            let progress = v
                .get("progress")
                .and_then(Value::as_u64)
                .map(|p| format!(" {p}%"))
                .unwrap_or_default();
            format!("  {st}{progress}")
        }
    };
    let text = match s(v, "summary") {
        "" => String::new(),
        t => format!("  \"{t}\""),
    };
    let seen = v
        .get("seconds_since_seen")
        .and_then(Value::as_f64)
        .map(|x| format!("  seen {} ago", human_secs(x)))
        .unwrap_or_default();
    format!(
        "{} {}{}{}{}",
        out.bold(&format!("{:<28}", s(v, "name"))),
        out.tier(&format!("{tier:<9}")),
        state,
        text,
        out.dim(&seen)
    )
}
