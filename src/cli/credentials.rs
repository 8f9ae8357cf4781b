//! Where the CLI and the hook command keep session credentials (issue 16): one private file
//! per session (`sessions/<name>`) or per Claude Code session (`claude/<claude id>`) under
//! `$XDG_STATE_HOME/mcp-coord/credentials/<daemon host_port>/` (default
//! `~/.local/state/…`), directories 0700, files 0600. Keyed by the daemon's address because
//! a credential belongs to one daemon's store. Any process of the same user can read them —
//! README "Security" says what that means.
//!
//! Which credential is presented for a session, first found:
//! 1. the file of the session name (written when the daemon issued it to this CLI),
//! 2. inside Claude Code's Bash tool (`CLAUDE_CODE_SESSION_ID`): the file its hooks wrote,
//! 3. `COORD_CREDENTIAL` when `COORD_SESSION` names the same session (a `create_session`
//!    child's environment).

use std::path::PathBuf;

use crate::domain::session_name;

/// The credentials directory.
pub fn dir() -> PathBuf {
    let base = match std::env::var("XDG_STATE_HOME") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => match std::env::var("HOME") {
            Ok(h) if !h.is_empty() => PathBuf::from(h).join(".local/state"),
            _ => PathBuf::from("."),
        },
    };
    base.join("mcp-coord").join("credentials")
}

/// What a file is keyed by.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A coordination session name (the CLI's own).
    Session,
    /// A Claude Code session id (the hooks').
    Claude,
}

/// `http://127.0.0.1:8082/` → `127.0.0.1_8082`.
fn daemon_dir(base: &str) -> String {
    let authority = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    super::identity::sanitize(&authority.replace(':', "_"))
}

fn path(base: &str, kind: Kind, key: &str) -> Option<PathBuf> {
    // Names and Claude ids pass the session-name charset: no `/`, no `..` tricks.
    session_name::validate(key).ok()?;
    if key.starts_with('.') {
        return None;
    }
    let sub = match kind {
        Kind::Session => "sessions",
        Kind::Claude => "claude",
    };
    Some(dir().join(daemon_dir(base)).join(sub).join(key))
}

/// The stored credential, if any.
pub fn load(base: &str, kind: Kind, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path(base, kind, key)?).ok()?;
    crate::domain::credential::presented(Some(&text)).map(str::to_string)
}

/// Stores a credential (0600, replacing the old one atomically). Failure is reported, not
/// fatal: the caller goes on with the credential in memory.
pub fn save(base: &str, kind: Kind, key: &str, secret: &str) -> std::io::Result<()> {
    let Some(file) = path(base, kind, key) else {
        return Err(std::io::Error::other(format!(
            "{key:?} is not a usable file name"
        )));
    };
    let parent = file.parent().expect("a file under the credentials dir");
    crate::service::tokens::write_secret_file(parent, key, secret)?;
    // `recursive` leaves existing directories' modes alone: make ours private.
    for d in [dir(), dir().join(daemon_dir(base)), parent.to_path_buf()] {
        let _ = std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    }
    Ok(())
}

/// Removes a stored credential (SessionEnd); a missing file is fine.
pub fn forget(base: &str, kind: Kind, key: &str) {
    if let Some(file) = path(base, kind, key) {
        let _ = std::fs::remove_file(file);
    }
}

/// The credential to present when acting as `session` (see the module comment).
pub fn for_session(base: &str, session: &str) -> Option<String> {
    let env = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    load(base, Kind::Session, session)
        .or_else(|| {
            env("CLAUDE_CODE_SESSION_ID").and_then(|id| load(base, Kind::Claude, id.trim()))
        })
        .or_else(|| {
            (env("COORD_SESSION").as_deref().map(str::trim) == Some(session))
                .then(|| env("COORD_CREDENTIAL"))
                .flatten()
        })
}

/// The credential a hook of Claude session `claude_id` presents: its file, else
/// `COORD_CREDENTIAL`.
pub fn for_hook(base: &str, claude_id: &str) -> Option<String> {
    load(base, Kind::Claude, claude_id).or_else(|| {
        std::env::var("COORD_CREDENTIAL")
            .ok()
            .filter(|v| !v.trim().is_empty())
    })
}
