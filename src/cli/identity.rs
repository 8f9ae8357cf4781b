//! Which session the CLI acts as.
//!
//! `--session NAME` / `COORD_SESSION` when given (inside an agent's tmux pane that is the
//! agent's own name, so `mcp-coord lock` there acts for the agent); otherwise
//! `cli-<user>-<host>`, stable across invocations so `mcp-coord lock X` and a later
//! `mcp-coord release X` are the same holder.
//!
//! `run --lock` is different: its lock must belong to that one invocation (two
//! `mcp-coord run --lock pytest` from the same shell must exclude each other, and a
//! re-entrant acquire by the same name would let both in), so it acts as
//! `<session>.run-<pid>`.

use super::CliError;
use crate::domain::session_name;

/// The name to act as: the given one (validated) or `cli-<user>-<host>`.
pub fn resolve(given: Option<&str>) -> Result<String, CliError> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            session_name::validate(name).map_err(|e| CliError::Usage(format!("--session: {e}")))?;
            Ok(name.to_string())
        }
        None => Ok(default_name()),
    }
}

/// `cli-<user>-<host>`, reduced to the session-name charset.
pub fn default_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "user".into());
    sanitize(&format!("cli-{user}-{}", hostname()))
}

/// The per-invocation name `run` acts as.
pub fn run_name(base: &str, pid: u32) -> String {
    let suffix = format!(".run-{pid}");
    let keep = session_name::MAX_LEN.saturating_sub(suffix.len());
    let head: String = base.chars().take(keep).collect();
    format!("{head}{suffix}")
}

pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Replaces every character outside `[A-Za-z0-9._-]` with `-` and bounds the length.
pub fn sanitize(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(96)
        .collect();
    if cleaned.is_empty() {
        "cli".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_session_names() {
        assert!(session_name::validate(&default_name()).is_ok());
        assert_eq!(sanitize("cli-jo hn-box.local"), "cli-jo-hn-box.local");
        let long = "x".repeat(200);
        let run = run_name(&long, 4_294_967_295);
        assert!(session_name::validate(&run).is_ok(), "{run}");
        assert!(run.ends_with(".run-4294967295"));
        assert!(resolve(Some("bad name")).is_err());
        assert_eq!(resolve(Some(" w1 ")).unwrap(), "w1");
        assert_eq!(resolve(Some("")).unwrap(), default_name());
    }
}
