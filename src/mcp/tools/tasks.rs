//! `create_tasks`, `next_task`, `update_task`, `get_task`, `list_tasks`, `get_batch_status`,
//! `import_tasks` / `export_tasks` (TaskMaster's tasks.json) (issue 17; TaskMaster's field
//! names). The argument types are the service's (`service::tasks`).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::tasks::{
    BatchStatusArgs, CreateTasksArgs, ExportTasksArgs, GetTaskArgs, ImportTasksArgs, ListTasksArgs,
    NextTaskArgs, UpdateTaskArgs,
};

#[tool_router(router = task_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Plan work as tasks with dependencies (a master does this once; children then claim them with next_task). tasks=[{id, title, description, details, testStrategy, priority: high|medium|low, dependencies: [ids], subtasks: [{id, title, dependencies}], role, labels, metadata}] — TaskMaster's tasks.json fields. All are created or none: duplicate ids, unknown dependencies, self-dependencies and cycles are refused (the cycle is named). project defaults to yours. Answers with the batch id and which tasks are ready."
    )]
    async fn create_tasks(&self, Parameters(args): Parameters<CreateTasksArgs>) -> CallToolResult {
        respond(self.coord().create_tasks(&self.caller(), args).await)
    }

    #[tool(
        description = "Claim the next task to work on: the highest-priority pending task whose dependencies are all done (optionally for your role), atomically — no two sessions get the same task. It becomes in-progress and assigned to you. Report with update_task (progress, notes, done or failed). When none is ready, task is null and reason says what the others wait for."
    )]
    async fn next_task(&self, Parameters(args): Parameters<NextTaskArgs>) -> CallToolResult {
        respond(self.coord().next_task(&self.caller(), args).await)
    }

    #[tool(
        description = "Report on a task you work on: status (pending hands it back, in-progress, blocked, review, done, failed, deferred, cancelled), progress 0-100, a note. task_id \"3\" or a subtask \"3.2\". done unblocks the tasks that depend on it (they are listed in unblocked); failed keeps them blocked. Only the assignee or the task's creator may change an assigned task."
    )]
    async fn update_task(&self, Parameters(args): Parameters<UpdateTaskArgs>) -> CallToolResult {
        respond(self.coord().update_task(&self.caller(), args).await)
    }

    #[tool(
        description = "One task in full: its plan (title, description, details, testStrategy, subtasks), status, assignee, progress, notes, what it waits on and what depends on it.",
        annotations(read_only_hint = true)
    )]
    async fn get_task(&self, Parameters(args): Parameters<GetTaskArgs>) -> CallToolResult {
        respond(self.coord().get_task(&self.caller(), args).await)
    }

    #[tool(
        description = "The task board of a project: counts by status, the ready ids in claim order, and the tasks (filter by status, assignee, ready=true/false, batch) with who works on what, for how long, and what blocks what. Tasks come without their long texts (description, details, testStrategy, metadata) unless detail=true; get_task shows one in full.",
        annotations(read_only_hint = true)
    )]
    async fn list_tasks(&self, Parameters(args): Parameters<ListTasksArgs>) -> CallToolResult {
        respond(self.coord().list_tasks(&self.caller(), args).await)
    }

    #[tool(
        description = "Seed 002's batch status: the create_tasks batches of your project (newest first) with counts by status and whether each is completed, or with batch=<id> that batch's board. include_completed also lists finished batches/tasks; limit (default 10).",
        annotations(read_only_hint = true)
    )]
    async fn get_batch_status(
        &self,
        Parameters(args): Parameters<BatchStatusArgs>,
    ) -> CallToolResult {
        respond(self.coord().get_batch_status(&self.caller(), args).await)
    }

    #[tool(
        description = "Load a TaskMaster-AI plan: file = its tasks.json (the JSON object, legacy {\"tasks\": [...]} or tagged {\"<tag>\": {\"tasks\": [...]}}), tag (default master). Its tasks become one create_tasks batch, all or nothing, with the same checks (ids, unknown dependencies, cycles); statuses, priorities, subtasks (\"1.2\" ids and dependencies) and its other fields are kept so export_tasks gives them back. project defaults to yours."
    )]
    async fn import_tasks(&self, Parameters(args): Parameters<ImportTasksArgs>) -> CallToolResult {
        respond(self.coord().import_tasks(&self.caller(), args).await)
    }

    #[tool(
        description = "The project's tasks as a TaskMaster-AI tasks.json (tagged: {\"<tag>\": {\"tasks\": [...], \"metadata\": {...}}}, tag default master) that task-master list/show read: status, priority, dependencies, subtasks, the current assignee; role, failed, progress and notes under metadata.mcp_coord. into = an existing tasks.json to update (its other tags are kept).",
        annotations(read_only_hint = true)
    )]
    async fn export_tasks(&self, Parameters(args): Parameters<ExportTasksArgs>) -> CallToolResult {
        respond(self.coord().export_tasks(&self.caller(), args).await)
    }
}
