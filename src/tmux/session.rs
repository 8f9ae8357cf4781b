//! Sessions on our tmux server: create, look up, list, kill, read their environment.

use std::collections::BTreeMap;
use std::path::Path;

use futures::StreamExt;
use serde::Serialize;

use super::command::literal_format;
use super::{Tmux, TmuxCommand, TmuxError};

/// Window size of a detached session: wide enough that logs rarely wrap. A client that
/// attaches resizes it to its own terminal.
const WIDTH: &str = "200";
const HEIGHT: &str = "50";
/// Scrollback kept per pane (tmux's default is 2000), so logs and temp output reach further.
const HISTORY_LIMIT: &str = "10000";

/// Everything `new_session` needs.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub name: &'a str,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    /// At least two words (see [`super::launch`]); one word would be run by `$SHELL -c`.
    pub argv: &'a [String],
    /// Keep the pane (and its last output) after the program exits, until it is killed.
    pub remain_on_exit: bool,
}

/// One session as `list_sessions` sees it (facts of its active pane included).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TmuxSession {
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    /// Clients attached (humans watching).
    pub attached: u32,
    pub pane_pid: Option<u32>,
    pub current_command: String,
    /// The program has exited; the pane stays until kill_session.
    pub dead: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// `MASTER_SESSION_ID` from the session's environment: the parent that may control it.
    pub master: Option<String>,
    /// `SESSION_ROLE` (`child`, `temp`), absent for sessions we did not spawn.
    pub role: Option<String>,
    /// `TASK_ID`.
    pub task: Option<String>,
}

/// Fields of `list-sessions` / `list-panes`, tab-separated, the name last (it may contain
/// anything tmux allows; it is split off with `splitn`).
const FIELDS: &str = "#{session_created}\t#{session_attached}\t#{pane_pid}\t#{pane_dead}\t\
#{pane_dead_status}\t#{pane_active}\t#{pane_current_command}\t#{session_name}";

struct Row {
    created: i64,
    attached: u32,
    pane_pid: Option<u32>,
    dead: bool,
    exit_status: Option<i32>,
    active: bool,
    current_command: String,
    name: String,
}

fn parse_row(line: &str) -> Option<Row> {
    let mut f = line.splitn(8, '\t');
    Some(Row {
        created: f.next()?.parse().unwrap_or(0),
        attached: f.next()?.parse().unwrap_or(0),
        pane_pid: f.next()?.parse().ok(),
        dead: f.next()? == "1",
        exit_status: f.next()?.parse().ok(),
        active: f.next()? == "1",
        current_command: f.next()?.to_string(),
        name: f.next()?.to_string(),
    })
}

impl Tmux {
    /// `new-session -d -s NAME -c DIR -e K=V … -- WORDS…`, in one invocation with the
    /// options that must be in place before the program can exit.
    pub async fn new_session(&self, spec: &NewSession<'_>) -> Result<(), TmuxError> {
        if spec.argv.len() < 2 {
            return Err(TmuxError::Failed {
                command: "new-session".into(),
                stderr: "refusing a one-word command: tmux would run it through $SHELL -c \
                         (use tmux::launch to wrap it)"
                    .into(),
            });
        }
        // exit-empty off: our server stays up when its last session ends. Otherwise it exits
        // then, and a client connecting in that moment fails ("server exited unexpectedly").
        let mut cmd = TmuxCommand::new("set-option")
            .args(["-g", "exit-empty", "off"])
            .then("set-option")
            .args(["-g", "history-limit", HISTORY_LIMIT])
            .then("new-session")
            .args(["-d", "-s", spec.name, "-x", WIDTH, "-y", HEIGHT, "-c"])
            .arg(literal_format(&spec.cwd.to_string_lossy()));
        for (k, v) in spec.env {
            cmd = cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd = cmd.arg("--").args(spec.argv);
        if spec.remain_on_exit {
            cmd = cmd
                .then("set-option")
                .arg("-p")
                .pane(spec.name)
                .args(["remain-on-exit", "on"]);
        }
        self.run(cmd, Some(spec.name)).await.map(|_| ())
    }

    /// Whether a session of exactly this name exists (no server = no session).
    pub async fn has_session(&self, name: &str) -> Result<bool, TmuxError> {
        match self
            .run(TmuxCommand::new("has-session").session(name), Some(name))
            .await
        {
            Ok(_) => Ok(true),
            Err(TmuxError::NoSession { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn kill_session(&self, name: &str) -> Result<(), TmuxError> {
        self.run(TmuxCommand::new("kill-session").session(name), Some(name))
            .await?;
        let _ = tokio::fs::remove_file(self.exit_status_file(name)).await;
        Ok(())
    }

    /// The session's environment (`show-environment -t =NAME`); removed variables are left out.
    pub async fn show_environment(
        &self,
        name: &str,
    ) -> Result<BTreeMap<String, String>, TmuxError> {
        let out = self
            .run(
                TmuxCommand::new("show-environment").session(name),
                Some(name),
            )
            .await?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// One session, or `NoSession`.
    pub async fn session(&self, name: &str) -> Result<TmuxSession, TmuxError> {
        let mut row = self.active_row(name).await?;
        if row.dead && row.exit_status.is_none() {
            // See `exit_status_file`: tmux may never record it; our wrapper did.
            row.exit_status = tokio::fs::read_to_string(self.exit_status_file(name))
                .await
                .ok()
                .and_then(|s| s.trim().parse().ok());
        }
        let env = self.show_environment(name).await?;
        Ok(with_env(row, env))
    }

    async fn active_row(&self, name: &str) -> Result<Row, TmuxError> {
        let out = self
            .run(
                TmuxCommand::new("list-panes")
                    .pane(name)
                    .args(["-F", FIELDS]),
                Some(name),
            )
            .await?;
        let rows: Vec<Row> = out.lines().filter_map(parse_row).collect();
        pick_active(rows).ok_or_else(|| TmuxError::NoSession {
            name: name.to_string(),
            socket: self.socket().to_string(),
        })
    }

    /// Every session on our server (none when no server runs), each with its environment.
    ///
    /// Cheap when it can be: with no server socket there is nothing to ask (no process is
    /// run — `list_sessions` and the dashboard call this on every listing), and a session's
    /// environment is read once (it is set when the session is created), so a listing runs
    /// one `tmux list-sessions` plus one `show-environment` per session not seen before.
    pub async fn list_sessions(&self) -> Result<Vec<TmuxSession>, TmuxError> {
        if !self.server_socket_path().exists() {
            self.env_cache.keep_only(&[]);
            return Ok(Vec::new());
        }
        let out = match self
            .run(TmuxCommand::new("list-sessions").args(["-F", FIELDS]), None)
            .await
        {
            Ok(out) => out,
            Err(TmuxError::NoServer { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let rows: Vec<Row> = out.lines().filter_map(parse_row).collect();
        let keys: Vec<EnvKey> = rows.iter().map(EnvKey::of).collect();
        self.env_cache.keep_only(&keys);
        // One show-environment per session not seen before, a few at a time; a session
        // that vanished in between is simply left out.
        let mut found: Vec<TmuxSession> = futures::stream::iter(rows)
            .map(|row| async move {
                let key = EnvKey::of(&row);
                if let Some(env) = self.env_cache.get(&key) {
                    return Ok(Some(with_env(row, env)));
                }
                match self.show_environment(&row.name).await {
                    Ok(env) => {
                        let env = ours(env);
                        self.env_cache.put(key, env.clone());
                        Ok(Some(with_env(row, env)))
                    }
                    Err(TmuxError::NoSession { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }
}

fn pick_active(rows: Vec<Row>) -> Option<Row> {
    let mut rows = rows;
    let at = rows.iter().position(|r| r.active).unwrap_or(0);
    (!rows.is_empty()).then(|| rows.swap_remove(at))
}

/// The variables of a session's environment a listing reports (see [`with_env`]).
const LISTED_ENV: [&str; 3] = ["MASTER_SESSION_ID", "SESSION_ROLE", "TASK_ID"];

fn ours(mut env: BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.retain(|k, _| LISTED_ENV.contains(&k.as_str()));
    env
}

/// One session incarnation: a session killed and created again under its name has a new
/// pane process (and usually a new creation second).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EnvKey {
    name: String,
    created: i64,
    pane_pid: Option<u32>,
}

impl EnvKey {
    fn of(row: &Row) -> Self {
        Self {
            name: row.name.clone(),
            created: row.created,
            pane_pid: row.pane_pid,
        }
    }
}

/// The listed variables of each session seen, so a listing does not run `show-environment`
/// for every session every time. We set them at `new-session` and never change them; an
/// entry goes when its session leaves the listing.
#[derive(Debug, Default)]
pub struct EnvCache {
    known: parking_lot::Mutex<std::collections::HashMap<EnvKey, BTreeMap<String, String>>>,
}

impl EnvCache {
    fn get(&self, key: &EnvKey) -> Option<BTreeMap<String, String>> {
        self.known.lock().get(key).cloned()
    }

    fn put(&self, key: EnvKey, env: BTreeMap<String, String>) {
        self.known.lock().insert(key, env);
    }

    fn keep_only(&self, live: &[EnvKey]) {
        let live: std::collections::HashSet<&EnvKey> = live.iter().collect();
        self.known.lock().retain(|k, _| live.contains(k));
    }
}

fn with_env(row: Row, env: BTreeMap<String, String>) -> TmuxSession {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    TmuxSession {
        master: get("MASTER_SESSION_ID"),
        role: get("SESSION_ROLE"),
        task: get("TASK_ID"),
        name: row.name,
        created: row.created,
        attached: row.attached,
        pane_pid: row.pane_pid,
        current_command: row.current_command,
        dead: row.dead,
        exit_status: if row.dead { row.exit_status } else { None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_with_names_that_contain_tabs() {
        let r = parse_row("1795298028\t1\t4741\t1\t3\t1\tsh\tweird\tname").unwrap();
        assert_eq!(r.name, "weird\tname");
        assert_eq!(r.pane_pid, Some(4741));
        assert!(r.dead && r.active);
        assert_eq!(r.exit_status, Some(3));
        assert!(parse_row("garbage").is_none());
    }
}
