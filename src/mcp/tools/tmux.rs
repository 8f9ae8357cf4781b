//! tmux orchestration tools (seeds 000 and 003): `create_session`, `spawn_temp_session`,
//! `send_keys`, `get_session_logs`, `kill_session`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::tmux::{
    CreateSessionArgs, KillSessionArgs, SendKeysArgs, SessionLogsArgs, SpawnTempArgs,
};

#[tool_router(router = tmux_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Spawn a child session in tmux: child_<project>_task_<task>, started in working_dir, running command (default \"claude\"; never through a shell), with COORD_SESSION, MASTER_SESSION_ID (you), TASK_ID and SESSION_ROLE=child in its environment. You become its parent: only you can send_keys to it, read its logs and kill it. Refused past sessions.max_children live children, or when you are yourself a child (no nested spawning). Returns the session name and the command a human runs to watch it. When the project's task board has task <task> (create_tasks), it is assigned to the child before anything starts — next_task's rules: refused unless pending with every dependency done — and its text is the child's first inbox message (answer: assigned_task); handed back if the spawn fails. claim_task=true insists on a board task, false leaves the board alone."
    )]
    async fn create_session(
        &self,
        Parameters(args): Parameters<CreateSessionArgs>,
    ) -> CallToolResult {
        respond(self.coord().create_session(&self.caller(), args).await)
    }

    #[tool(
        description = "Run one command in a temporary tmux session and return its output (last 64 KiB) and exit code; the session is removed afterwards. On timeout the command is killed and you get timed_out: true with the output so far. The command is never run through a shell: give [\"sh\", \"-c\", \"…\"] if you need pipes or redirections."
    )]
    async fn spawn_temp_session(
        &self,
        Parameters(args): Parameters<SpawnTempArgs>,
    ) -> CallToolResult {
        respond(self.coord().spawn_temp_session(&self.caller(), args).await)
    }

    #[tool(
        description = "Type text into your child session: sent literally, then Enter pressed separately, then checked with the pane that it was submitted (one retry). confirmed: true means the pane showed it submitted; false says what was seen instead. enter=false types without submitting."
    )]
    async fn send_keys(&self, Parameters(args): Parameters<SendKeysArgs>) -> CallToolResult {
        respond(self.coord().send_keys(&self.caller(), &args).await)
    }

    #[tool(
        description = "The last lines of your child session's terminal (default 100), oldest first, and whether its program still runs.",
        annotations(read_only_hint = true)
    )]
    async fn get_session_logs(
        &self,
        Parameters(args): Parameters<SessionLogsArgs>,
    ) -> CallToolResult {
        respond(self.coord().get_session_logs(&self.caller(), &args).await)
    }

    #[tool(
        description = "Kill your child session's tmux session (its program gets SIGHUP). Only its parent may.",
        annotations(destructive_hint = true)
    )]
    async fn kill_session(&self, Parameters(args): Parameters<KillSessionArgs>) -> CallToolResult {
        respond(self.coord().kill_session(&self.caller(), &args).await)
    }
}
