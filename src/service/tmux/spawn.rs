//! `create_session`: a child session in tmux, named `child_<project>_task_<task>`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::spawn::{self as rules, CommandSpec};
use crate::service::sessions::RegisterArgs;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::tmux::{NewSession, TmuxSession, launch};

/// `create_session`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateSessionArgs {
    /// Project id: 1-32 letters, digits and '-'. The session is named child_<project>_task_<task>.
    #[serde(deserialize_with = "id_text")]
    #[schemars(with = "Id")]
    pub project: String,
    /// Task id: 1-32 letters, digits and '-' (e.g. 3 or auth-api).
    #[serde(deserialize_with = "id_text")]
    #[schemars(with = "Id")]
    pub task: String,
    /// Absolute path of an existing directory (usually the task's git worktree).
    pub working_dir: String,
    /// Program to run, default "claude". One string is split into words like a shell would
    /// split it (quotes work) but is NOT run by a shell: no $VAR, $(…), ;, |, > or globs.
    /// Or give the words as a list, e.g. ["claude", "--model", "sonnet"].
    pub command: Option<CommandSpec>,
    /// Extra environment variables (names [A-Z_][A-Z0-9_]*). COORD_SESSION, COORD_CREDENTIAL,
    /// MASTER_SESSION_ID, TASK_ID and SESSION_ROLE are set for you and cannot be overridden;
    /// so is MCP_COORD_TOKEN (the child's own token, when the daemon requires tokens).
    pub env: Option<BTreeMap<String, String>>,
    /// Assign the board task `task` of `project` to the child: it is claimed for the child
    /// before anything starts (next_task's rules: pending, every dependency done; refused
    /// otherwise, and nothing is spawned), and its text (title, description, details,
    /// testStrategy, subtasks) is the child's first inbox message. Handed back if the spawn
    /// fails. Default: when the project's task board has that task. true: refuse when it
    /// has not; false: leave the board alone.
    pub claim_task: Option<bool>,
}

/// An id given as text or as a number (`3` and `"3"` mean the same task).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(u64),
}

/// Reads an [`Id`] (text or number) as its text.
fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CreatedSession {
    /// The tmux session name, also the child's coordination session name (`COORD_SESSION`).
    pub session: String,
    pub parent: String,
    pub project: String,
    pub task: String,
    pub working_dir: String,
    /// The program and its arguments, exactly as started (no shell involved).
    pub command: Vec<String>,
    pub socket: String,
    /// How a human watches it.
    pub attach: String,
    pub pane_pid: Option<u32>,
    /// False when the program already exited (its last output stays: get_session_logs).
    pub running: bool,
    /// A dead session of the same name (yours) was removed to make room.
    pub replaced_dead_session: bool,
    /// The board task now assigned to the child (`claim_task`), in-progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_task: Option<crate::service::tasks::TaskView>,
}

impl Coordinator {
    /// Starts `command` in a new tmux session `child_<project>_task_<task>` in `working_dir`,
    /// with `COORD_SESSION`, `MASTER_SESSION_ID` (= the caller), `TASK_ID` and
    /// `SESSION_ROLE=child` in its environment plus the caller's `env`.
    ///
    /// Refused: bad names, env or command; a working_dir that is not a directory; a caller
    /// that is itself deeper than `sessions.max_depth` allows; a caller that already has
    /// `sessions.max_children` live children; a live session of that name.
    pub async fn create_session(
        &self,
        caller: &Caller,
        req: CreateSessionArgs,
    ) -> Result<CreatedSession, ServiceError> {
        let result = self.create_session_unaudited(caller, req).await;
        let target = result.as_ref().ok().map(|c| c.session.clone());
        self.audited(
            "session_spawned",
            &caller.session,
            target.as_deref(),
            result,
        )
    }

    async fn create_session_unaudited(
        &self,
        caller: &Caller,
        req: CreateSessionArgs,
    ) -> Result<CreatedSession, ServiceError> {
        rules::validate_id("project", &req.project).map_err(ServiceError::invalid)?;
        rules::validate_id("task", &req.task).map_err(ServiceError::invalid)?;
        rules::validate_working_dir(&req.working_dir).map_err(ServiceError::invalid)?;
        let extra_env = req.env.clone().unwrap_or_default();
        if extra_env.len() > rules::MAX_ENV_VARS {
            return Err(ServiceError::invalid(format!(
                "env has {} variables; the limit is {}",
                extra_env.len(),
                rules::MAX_ENV_VARS
            )));
        }
        for (k, v) in &extra_env {
            rules::validate_env(k, v).map_err(ServiceError::invalid)?;
        }
        let command = req
            .command
            .clone()
            .unwrap_or_else(|| CommandSpec::Line("claude".into()));
        let argv = rules::command_words(&command).map_err(ServiceError::invalid)?;
        check_directory(&req.working_dir).await?;
        let name = rules::child_name(&req.project, &req.task);

        // Held across the tmux calls on purpose (an async mutex): counting the children and
        // spawning one must be one step. Each tmux call is bounded (tmux::command), so this
        // wait is too; nothing under it takes another lock.
        let _one_at_a_time = self.tmux.spawning.lock().await;
        let sessions = self.tmux().list_sessions().await?;
        self.check_depth(caller, &sessions)?;
        let mut replaced_dead_session = false;
        if let Some(existing) = sessions.iter().find(|s| s.name == name) {
            if existing.dead && existing.master.as_deref() == Some(caller.session.as_str()) {
                self.tmux().kill_session(&name).await?;
                replaced_dead_session = true;
            } else {
                return Err(ServiceError::new(
                    "conflict",
                    format!(
                        "tmux session {name} already exists ({}, parent {}); use another task \
                         id, or kill_session {name} first (only its parent can)",
                        if existing.dead { "exited" } else { "running" },
                        existing.master.as_deref().unwrap_or("none")
                    ),
                )
                .with_details(json!({ "session": name, "parent": existing.master })));
            }
        }
        self.check_child_limit(caller, &sessions, &name)?;
        // The board task, claimed for the child before anything starts: a task that is not
        // ready is refused here, with nothing spawned.
        let claimed = self
            .claim_for_child(&req.project, &req.task, &name, req.claim_task)
            .await?;
        if let Err(failure) = self.start_child(caller, &name, &req, &argv).await {
            // Hand the task back first, so ending the child below finds nothing to hand
            // back (no note, no message: as if it had never been claimed).
            if let Some(t) = &claimed {
                self.unclaim_for_child(&req.project, t, &name).await;
            }
            if failure.registered {
                let _ = self
                    .end_named(&name, "its tmux session could not be started", None)
                    .await;
            }
            return Err(failure.error);
        }
        tracing::info!(session = %name, parent = %caller.session, command = ?argv, "spawned child session");
        let assigned_task = match &claimed {
            Some(t) => Some(
                self.hand_task_to_child(&req.project, t, &caller.session, &name)
                    .await,
            ),
            None => None,
        };
        let started = self.tmux().session(&name).await?;
        Ok(CreatedSession {
            attach: self.tmux().attach_hint(&name),
            socket: self.tmux().socket().to_string(),
            session: name,
            parent: caller.session.clone(),
            project: req.project,
            task: req.task,
            working_dir: req.working_dir,
            command: argv,
            pane_pid: started.pane_pid,
            running: !started.dead,
            replaced_dead_session,
            assigned_task,
        })
    }

    /// Registers the child, gives it its credential and starts its tmux session.
    async fn start_child(
        &self,
        caller: &Caller,
        name: &str,
        req: &CreateSessionArgs,
        argv: &[String],
    ) -> Result<(), StartFailure> {
        // Register the child first: the session store enforces the tree's limits atomically
        // (registered children of every kind count), and the child is known — with its
        // parent — before its program even starts.
        self.register_child(caller, name, req)
            .await
            .map_err(StartFailure::unregistered)?;
        // The child's proof that it is its session (issue 16): in its environment only, for
        // its MCP connection (`X-Coord-Credential: ${COORD_CREDENTIAL:-}`), hooks and CLI.
        let credential = self
            .issue_credential(name)
            .await
            .map_err(StartFailure::registered)?;

        let mut env = vec![
            ("COORD_SESSION".to_string(), name.to_string()),
            ("COORD_CREDENTIAL".to_string(), credential),
            ("MASTER_SESSION_ID".to_string(), caller.session.clone()),
            ("TASK_ID".to_string(), req.task.clone()),
            ("SESSION_ROLE".to_string(), "child".to_string()),
        ];
        // On a daemon that requires tokens, its own (revoked when it ends: child_token.rs).
        if let Some(token) = self
            .issue_child_token(name)
            .await
            .map_err(StartFailure::registered)?
        {
            env.push(("MCP_COORD_TOKEN".to_string(), token));
        }
        env.extend(req.env.clone().unwrap_or_default());
        let status_file = self.tmux().exit_status_file(name);
        if let Some(dir) = status_file.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                StartFailure::registered(ServiceError::new(
                    "tmux_failed",
                    format!("cannot create {} for exit statuses: {e}", dir.display()),
                ))
            })?;
        }
        let _ = tokio::fs::remove_file(&status_file).await;
        let words = launch::exec_recording_status(&status_file, argv);
        self.tmux()
            .new_session(&NewSession {
                name,
                cwd: Path::new(&req.working_dir),
                env: &env,
                argv: &words,
                remain_on_exit: true,
            })
            .await
            .map_err(|e| StartFailure::registered(e.into()))
    }

    /// Registers `name` as a child of `caller` in the session store (role child, project,
    /// task, working directory). The child's own connection later binds to the same name
    /// (`COORD_SESSION` in its environment).
    async fn register_child(
        &self,
        caller: &Caller,
        name: &str,
        req: &CreateSessionArgs,
    ) -> Result<(), ServiceError> {
        let child = Caller {
            session: name.to_string(),
            connection_id: format!("tmux:{name}"),
            transport: "tmux",
            principal: caller.principal.clone(),
        };
        let request = RegisterArgs {
            name: Some(name.to_string()),
            role: Some("child".into()),
            project: Some(req.project.clone()),
            task: Some(req.task.clone()),
            parent: Some(caller.session.clone()),
            branch: None,
            cwd: Some(req.working_dir.clone()),
            metadata: Some(json!({ "tmux_session": name, "tmux_socket": self.tmux().socket() })),
        };
        self.register_session(&child, true, request)
            .await
            .map(|_| ())
    }

    /// Depth of the caller in the session tree, read from tmux (each session's
    /// `MASTER_SESSION_ID` names its parent) and from the child naming pattern.
    fn check_depth(&self, caller: &Caller, sessions: &[TmuxSession]) -> Result<(), ServiceError> {
        let max_depth = self.settings().sessions.max_depth;
        let (depth, parent) = depth_of(&caller.session, sessions);
        if depth < max_depth {
            return Ok(());
        }
        let of_parent = parent.map(|p| format!(" of {p}")).unwrap_or_default();
        let message = if max_depth == 1 {
            format!(
                "nested spawning is not allowed (sessions.max_depth = 1): {} is itself a child \
                 session{of_parent}, and only top-level sessions spawn children; report back to \
                 your parent instead (report_session_status, send_message_to_session)",
                caller.session
            )
        } else {
            format!(
                "{} is at depth {depth} of the session tree{of_parent}, and sessions.max_depth = \
                 {max_depth} allows no deeper session; report back to your parent instead",
                caller.session
            )
        };
        Err(ServiceError::new("limit", message).with_details(json!({
            "depth": depth,
            "max_depth": max_depth,
        })))
    }

    fn check_child_limit(
        &self,
        caller: &Caller,
        sessions: &[TmuxSession],
        replacing: &str,
    ) -> Result<(), ServiceError> {
        let max = self.settings().sessions.max_children;
        let live: Vec<&str> = sessions
            .iter()
            .filter(|s| {
                s.master.as_deref() == Some(caller.session.as_str())
                    && s.role.as_deref() == Some("child")
                    && !s.dead
                    && s.name != replacing
            })
            .map(|s| s.name.as_str())
            .collect();
        if live.len() < max {
            return Ok(());
        }
        Err(ServiceError::new(
            "limit",
            format!(
                "{} already has {} live children (sessions.max_children = {max}): {}; \
                 kill_session one that is done before spawning another",
                caller.session,
                live.len(),
                live.join(", ")
            ),
        )
        .with_details(json!({ "children": live, "max_children": max })))
    }
}

/// Why a child did not start, and whether it was registered already (then it is ended).
struct StartFailure {
    error: ServiceError,
    registered: bool,
}

impl StartFailure {
    fn unregistered(error: ServiceError) -> Self {
        Self {
            error,
            registered: false,
        }
    }

    fn registered(error: ServiceError) -> Self {
        Self {
            error,
            registered: true,
        }
    }
}

/// How many parents are above `name` (0 = top level), and its direct parent.
fn depth_of(name: &str, sessions: &[TmuxSession]) -> (usize, Option<String>) {
    let mut depth = 0;
    let mut parent = None;
    let mut current = name.to_string();
    // Bounded: a hand-made cycle of MASTER_SESSION_IDs must not loop forever.
    for _ in 0..=sessions.len() {
        let Some(master) = sessions
            .iter()
            .find(|s| s.name == current)
            .and_then(|s| s.master.clone())
        else {
            break;
        };
        depth += 1;
        parent.get_or_insert_with(|| master.clone());
        current = master;
    }
    if depth == 0 && rules::looks_like_child(name) {
        depth = 1;
    }
    (depth, parent)
}

async fn check_directory(dir: &str) -> Result<(), ServiceError> {
    match tokio::fs::metadata(dir).await {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(ServiceError::invalid(format!(
            "working_dir {dir} is not a directory; give the directory the session should start in"
        ))),
        Err(e) => Err(ServiceError::invalid(format!(
            "working_dir {dir} cannot be used ({e}); give an existing directory (create the \
             worktree first, e.g. git worktree add)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, master: Option<&str>) -> TmuxSession {
        TmuxSession {
            name: name.into(),
            created: 0,
            attached: 0,
            pane_pid: None,
            current_command: String::new(),
            dead: false,
            exit_status: None,
            master: master.map(String::from),
            role: Some("child".into()),
            task: None,
        }
    }

    #[test]
    fn depth_follows_master_ids_and_names() {
        let all = [
            s("a", Some("m")),
            s("b", Some("a")),
            s("x", Some("y")),
            s("y", Some("x")),
        ];
        assert_eq!(depth_of("m", &all), (0, None));
        assert_eq!(depth_of("a", &all), (1, Some("m".into())));
        assert_eq!(depth_of("b", &all), (2, Some("a".into())));
        assert_eq!(depth_of("child_web_task_1", &all), (1, None));
        assert!(depth_of("x", &all).0 <= all.len() + 1, "cycles end");
    }
}
