//! tmux orchestration tools (seeds 000 and 003): `create_session`, `spawn_temp_session`,
//! `send_keys`, `get_session_logs`, `kill_session`.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde::Deserialize;

use crate::domain::spawn::CommandSpec;
use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::tmux::{CreateSession, SpawnTemp};

/// An id given as text or as a number (`3` and `"3"` mean the same task).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Id {
    Text(String),
    Number(u64),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateSessionArgs {
    /// Project id: 1-32 letters, digits and '-'. The session is named child_<project>_task_<task>.
    pub project: Id,
    /// Task id: 1-32 letters, digits and '-' (e.g. 3 or auth-api).
    pub task: Id,
    /// Absolute path of an existing directory (usually the task's git worktree).
    pub working_dir: String,
    /// Program to run, default "claude". One string is split into words like a shell would
    /// split it (quotes work) but is NOT run by a shell: no $VAR, $(…), ;, |, > or globs.
    /// Or give the words as a list, e.g. ["claude", "--model", "sonnet"].
    pub command: Option<CommandSpec>,
    /// Extra environment variables (names [A-Z_][A-Z0-9_]*). COORD_SESSION,
    /// MASTER_SESSION_ID, TASK_ID and SESSION_ROLE are set for you and cannot be overridden.
    pub env: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SpawnTempArgs {
    /// Program to run: one string split into words (NOT run by a shell) or a list of words.
    /// For shell syntax, ask for a shell explicitly: ["sh", "-c", "npm test 2>&1 | tail -50"].
    pub command: CommandSpec,
    /// Absolute path of an existing directory to run in.
    pub working_dir: String,
    /// Seconds to wait before the command is killed (default 300; `timeout` works too).
    #[serde(alias = "timeout")]
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SendKeysArgs {
    /// Your child's tmux session name, e.g. child_web_task_3 (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
    /// Text typed literally: key names like "C-c" are not interpreted, newlines are typed as
    /// line breaks. Empty text with enter=true just presses Enter.
    #[serde(default)]
    pub text: String,
    /// Press Enter after the text (separately) and verify it was submitted. Default true.
    pub enter: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SessionLogsArgs {
    /// Your child's tmux session name (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
    /// How many of the last lines to return (1-10000, default 100).
    pub lines: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct KillSessionArgs {
    /// Your child's tmux session name (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
}

#[tool_router(router = tmux_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Spawn a child session in tmux: child_<project>_task_<task>, started in working_dir, running command (default \"claude\"; never through a shell), with COORD_SESSION, MASTER_SESSION_ID (you), TASK_ID and SESSION_ROLE=child in its environment. You become its parent: only you can send_keys to it, read its logs and kill it. Refused past sessions.max_children live children, or when you are yourself a child (no nested spawning). Returns the session name and the command a human runs to watch it."
    )]
    async fn create_session(
        &self,
        Parameters(args): Parameters<CreateSessionArgs>,
    ) -> CallToolResult {
        let req = CreateSession {
            project: args.project.into_string(),
            task: args.task.into_string(),
            working_dir: args.working_dir,
            command: args.command,
            env: args.env.unwrap_or_default(),
        };
        respond(self.coord().create_session(&self.caller(), req).await)
    }

    #[tool(
        description = "Run one command in a temporary tmux session and return its output (last 64 KiB) and exit code; the session is removed afterwards. On timeout the command is killed and you get timed_out: true with the output so far. The command is never run through a shell: give [\"sh\", \"-c\", \"…\"] if you need pipes or redirections."
    )]
    async fn spawn_temp_session(
        &self,
        Parameters(args): Parameters<SpawnTempArgs>,
    ) -> CallToolResult {
        let req = SpawnTemp {
            command: args.command,
            working_dir: args.working_dir,
            timeout_seconds: args.timeout_seconds,
        };
        respond(self.coord().spawn_temp_session(&self.caller(), req).await)
    }

    #[tool(
        description = "Type text into your child session: sent literally, then Enter pressed separately, then checked with the pane that it was submitted (one retry). confirmed: true means the pane showed it submitted; false says what was seen instead. enter=false types without submitting."
    )]
    async fn send_keys(&self, Parameters(args): Parameters<SendKeysArgs>) -> CallToolResult {
        let enter = args.enter.unwrap_or(true);
        respond(
            self.coord()
                .send_keys(&self.caller(), &args.session, &args.text, enter)
                .await,
        )
    }

    #[tool(
        description = "The last lines of your child session's terminal (default 100), oldest first, and whether its program still runs.",
        annotations(read_only_hint = true)
    )]
    async fn get_session_logs(
        &self,
        Parameters(args): Parameters<SessionLogsArgs>,
    ) -> CallToolResult {
        let lines = args.lines.unwrap_or(100);
        respond(
            self.coord()
                .get_session_logs(&self.caller(), &args.session, lines)
                .await,
        )
    }

    #[tool(
        description = "Kill your child session's tmux session (its program gets SIGHUP). Only its parent may.",
        annotations(destructive_hint = true)
    )]
    async fn kill_session(&self, Parameters(args): Parameters<KillSessionArgs>) -> CallToolResult {
        respond(
            self.coord()
                .kill_session(&self.caller(), &args.session)
                .await,
        )
    }
}
