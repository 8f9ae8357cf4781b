//! `status`: the picture at a glance — sessions as a tree (parent → children) with tier,
//! state and progress, each with the locks it holds; then every lock with holder and waiters.

use std::collections::{BTreeMap, BTreeSet};

use clap::Args;
use serde_json::{Value, json};

use super::output::s;
use super::{CliError, EXIT_OK, Global, Out, locks, sessions};
use crate::service::sessions::ListSessionsArgs;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Include ended sessions.
    #[arg(long)]
    pub all: bool,
}

pub async fn main(global: &Global, out: &Out, a: StatusArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let health = daemon.call_plain("health_check").await;
    let listed = daemon
        .call(
            "list_sessions",
            &ListSessionsArgs {
                include_ended: a.all,
            },
        )
        .await;
    let held = locks::fetch(&daemon, "*").await;
    daemon.close().await;
    // An unreachable daemon is one error; a missing tool only blanks its half of the picture.
    let (listed, held) = match (listed, held) {
        (Err(e @ CliError::Unreachable { .. }), _) | (_, Err(e @ CliError::Unreachable { .. })) => {
            return Err(e);
        }
        pair => pair,
    };
    if out.json {
        let part = |r: &Result<Value, CliError>| match r {
            Ok(v) => v.clone(),
            Err(e) => json!({ "error": format!("{e:?}") }),
        };
        let locks_json = match &held {
            Ok(l) => json!({ "locks": l }),
            Err(e) => json!({ "error": format!("{e:?}") }),
        };
        out.json(
            &json!({ "daemon": part(&health), "sessions": part(&listed), "locks": locks_json }),
        );
        return Ok(EXIT_OK);
    }
    if let Ok(h) = &health {
        println!("{}", daemon_line(h));
        println!();
    }
    let held_list = held.as_ref().cloned().unwrap_or_default();
    match &listed {
        Ok(v) => print_tree(out, v, &held_list),
        Err(e) => println!("{} {}", out.bold("Sessions"), out.dim(&unavailable(e))),
    }
    println!();
    match &held {
        Ok(l) => {
            println!("{} ({})", out.bold("Locks"), l.len());
            if l.is_empty() {
                println!("  {}", out.dim("none held"));
            }
            for lock in l {
                println!("  {}", locks::line(out, lock));
            }
        }
        Err(e) => println!("{} {}", out.bold("Locks"), out.dim(&unavailable(e))),
    }
    Ok(EXIT_OK)
}

fn unavailable(e: &CliError) -> String {
    match e {
        CliError::Refused { message, .. } | CliError::Failed(message) => {
            format!("(unavailable: {message})")
        }
        other => format!("({other:?})"),
    }
}

/// Roots are sessions without a listed parent; children are indented under their parent.
fn print_tree(out: &Out, listed: &Value, held: &[Value]) {
    let all = listed
        .get("sessions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: BTreeSet<&str> = all.iter().map(|v| s(v, "name")).collect();
    let mut children: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    let mut roots = Vec::new();
    for v in &all {
        match s(v, "parent") {
            p if !p.is_empty() && names.contains(p) && p != s(v, "name") => {
                children.entry(p).or_default().push(v)
            }
            _ => roots.push(v),
        }
    }
    let count = |tier: &str| all.iter().filter(|v| s(v, "tier") == tier).count();
    println!(
        "{} ({}: {} active, {} idle, {} stale, {} abandoned)",
        out.bold("Sessions"),
        all.len(),
        count("active"),
        count("idle"),
        count("stale"),
        count("abandoned")
    );
    if all.is_empty() {
        println!("  {}", out.dim("none registered"));
    }
    let mut seen = BTreeSet::new();
    for r in roots {
        print_node(out, r, &children, held, "  ", "", &mut seen);
    }
}

fn print_node<'a>(
    out: &Out,
    v: &'a Value,
    children: &BTreeMap<&str, Vec<&'a Value>>,
    held: &[Value],
    indent: &str,
    branch: &str,
    seen: &mut BTreeSet<&'a str>,
) {
    let name = s(v, "name");
    if !seen.insert(name) {
        return; // a cycle in parent links must not loop
    }
    let mine: Vec<&str> = held
        .iter()
        .filter(|l| s(l, "holder") == name)
        .map(|l| s(l, "lock"))
        .collect();
    let locks = if mine.is_empty() {
        String::new()
    } else {
        format!("  holds {}", out.cyan(&mine.join(", ")))
    };
    println!("{indent}{branch}{}{locks}", sessions::summary(out, v));
    let kids = children.get(name).cloned().unwrap_or_default();
    let deeper = format!(
        "{indent}{}",
        match branch {
            "" => "",
            "├─ " => "│  ",
            _ => "   ",
        }
    );
    let n = kids.len();
    for (i, k) in kids.into_iter().enumerate() {
        let b = if i + 1 == n { "└─ " } else { "├─ " };
        print_node(out, k, children, held, &deeper, b, seen);
    }
}

/// `mcp-coord 0.1.0 · store embedded (reachable, 0.02 ms) · 3 connections · up 2h05m`
fn daemon_line(h: &Value) -> String {
    let store = &h["store"];
    let reach = if store["reachable"] == true {
        match store["round_trip_ms"].as_f64() {
            Some(ms) => format!("reachable, {ms} ms"),
            None => "reachable".to_string(),
        }
    } else {
        format!(
            "UNREACHABLE: {}",
            store["error"].as_str().unwrap_or("no answer")
        )
    };
    let up = h["uptime_seconds"].as_u64().unwrap_or(0);
    format!(
        "mcp-coord {} · {} · store {} ({reach}) · {} connections · up {}h{:02}m",
        h["version"].as_str().unwrap_or("?"),
        h["status"].as_str().unwrap_or("?"),
        store["kind"].as_str().unwrap_or("?"),
        h["connections"]["total"].as_u64().unwrap_or(0),
        up / 3600,
        (up % 3600) / 60
    )
}
