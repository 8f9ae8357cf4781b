//! `tasks`: the task board in the terminal (issue 17) — counts by state, what is ready, what
//! is blocked by what, who works on what and for how long. Thin over the `list_tasks` tool
//! (the same board `coord://tasks` and the dashboard show). Every `tasks …` subcommand lives
//! in [`TasksCommand`]; `mcp-coord tasks` alone is the board.

use clap::{Args, Subcommand};

use super::output::human_secs;
use super::{CliError, EXIT_OK, Global, Out};
use crate::domain::tasks::TaskStatus;
use crate::service::tasks::{ListTasksArgs, TaskBoard, TaskView};
use crate::store::tasks::Waiting;

/// `mcp-coord tasks [SUBCOMMAND]`; without one, the board.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TasksArgs {
    #[command(subcommand)]
    pub command: Option<TasksCommand>,
    #[command(flatten)]
    pub board: BoardArgs,
}

/// The `tasks` subcommands.
#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// The board (the default): counts, ready, blocked by what, who works on what.
    Board(BoardArgs),
    /// Load a TaskMaster-AI tasks.json (legacy or tagged, --tag) as one batch, all or nothing.
    Import(super::tasks_file::ImportArgs),
    /// Write the project's tasks as a TaskMaster tasks.json (-o FILE keeps its other tags).
    Export(super::tasks_file::ExportArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct BoardArgs {
    /// The project whose board to show (default: the CLI session's own project).
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Only this `create_tasks` batch.
    #[arg(long, value_name = "BATCH")]
    pub batch: Option<String>,
    /// Also list every task, finished ones included, one per line.
    #[arg(long)]
    pub all: bool,
}

pub async fn main(global: &Global, out: &Out, a: TasksArgs) -> Result<u8, CliError> {
    match a.command {
        None => board(global, out, a.board).await,
        Some(TasksCommand::Board(b)) => board(global, out, b).await,
        Some(TasksCommand::Import(i)) => super::tasks_file::import(global, out, i).await,
        Some(TasksCommand::Export(e)) => super::tasks_file::export(global, out, e).await,
    }
}

async fn board(global: &Global, out: &Out, a: BoardArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let result = daemon
        .call(
            "list_tasks",
            &ListTasksArgs {
                project: a.project.clone(),
                batch: a.batch.clone(),
                ..Default::default()
            },
        )
        .await;
    daemon.close().await;
    let listed = result.map_err(|e| match e {
        CliError::Refused { message, json } if a.project.is_none() => CliError::Refused {
            message: format!("{message} (here: mcp-coord tasks --project P)"),
            json,
        },
        other => other,
    })?;
    if out.json {
        out.json(&listed);
        return Ok(EXIT_OK);
    }
    let board: TaskBoard = serde_json::from_value(listed).map_err(|e| {
        CliError::Failed(format!("the daemon's list_tasks answer is unreadable: {e}"))
    })?;
    for line in render(out, &board, a.all) {
        println!("{line}");
    }
    Ok(EXIT_OK)
}

/// The board as text lines (kept apart from printing so it reads as one picture).
pub fn render(out: &Out, board: &TaskBoard, all: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let scope = match &board.batch {
        Some(b) => format!("project {} batch {b}", board.project),
        None => format!("project {}", board.project),
    };
    if board.total == 0 {
        lines.push(format!(
            "no tasks in {scope} — a master creates them with create_tasks (or `mcp-coord tasks import`)"
        ));
        return lines;
    }
    let counts: Vec<String> = TaskStatus::ALL
        .iter()
        .filter_map(|s| {
            let n = board.counts.get(s.as_str()).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    lines.push(format!(
        "{} — {} tasks: {}",
        out.bold(&format!("Tasks of {scope}")),
        board.total,
        counts.join(" · ")
    ));

    let working: Vec<&TaskView> = board
        .tasks
        .iter()
        .filter(|t| t.assignee.is_some() && !finished(t.status) && t.status != TaskStatus::Failed)
        .collect();
    lines.push(String::new());
    lines.push(out.bold(&format!("Working ({})", working.len())));
    if working.is_empty() {
        lines.push(format!("  {}", out.dim("nobody holds a task")));
    }
    for t in &working {
        let running = t
            .running_seconds
            .map(|s| format!("  for {}", human_secs(s)))
            .unwrap_or_default();
        let progress = t.progress.map(|p| format!("  {p}%")).unwrap_or_default();
        lines.push(format!(
            "  {}  {}  {}{}{}",
            task_label(out, t),
            out.cyan(t.assignee.as_deref().unwrap_or("")),
            status_word(out, t.status),
            out.dim(&running),
            progress
        ));
    }

    lines.push(String::new());
    lines.push(out.bold(&format!("Ready ({})", board.ready.len())));
    if board.ready.is_empty() {
        lines.push(format!("  {}", out.dim("nothing can be claimed now")));
    }
    for t in board.tasks.iter().filter(|t| t.ready) {
        let role = t
            .role
            .as_deref()
            .map(|r| format!("  role {r}"))
            .unwrap_or_default();
        lines.push(format!(
            "  {}  {}{}",
            task_label(out, t),
            out.dim(&priority_word(t)),
            out.dim(&role)
        ));
    }

    let blocked: Vec<&TaskView> = board
        .tasks
        .iter()
        .filter(|t| !t.waiting_on.is_empty() && !finished(t.status))
        .collect();
    if !blocked.is_empty() {
        lines.push(String::new());
        lines.push(out.bold(&format!("Blocked ({})", blocked.len())));
        for t in blocked {
            lines.push(format!(
                "  {}  {} {}",
                task_label(out, t),
                out.yellow("waits on"),
                Waiting::describe(&t.waiting_on)
            ));
        }
    }

    // Put aside with nobody on them and nothing to wait for (blocked, in review or deferred
    // by hand, or in progress as an imported file had them): only someone's update_task
    // moves them, so they must not hide in the counts.
    let parked: Vec<&TaskView> = board
        .tasks
        .iter()
        .filter(|t| {
            t.assignee.is_none()
                && t.waiting_on.is_empty()
                && matches!(
                    t.status,
                    TaskStatus::Blocked
                        | TaskStatus::Review
                        | TaskStatus::Deferred
                        | TaskStatus::InProgress
                )
        })
        .collect();
    if !parked.is_empty() {
        lines.push(String::new());
        lines.push(out.bold(&format!("Parked, nobody on them ({})", parked.len())));
        for t in parked {
            lines.push(format!(
                "  {}  {}  {}",
                task_label(out, t),
                status_word(out, t.status),
                out.dim("update_task(status=\"pending\") makes it claimable")
            ));
        }
    }

    let failed: Vec<&TaskView> = board
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Failed)
        .collect();
    if !failed.is_empty() {
        lines.push(String::new());
        lines.push(out.bold(&format!("Failed ({})", failed.len())));
        for t in failed {
            let why = t
                .notes
                .last()
                .map(|n| format!("  \"{}\" — {}", n.text, n.by))
                .unwrap_or_default();
            lines.push(format!("  {}{}", task_label(out, t), out.dim(&why)));
        }
    }

    if all {
        lines.push(String::new());
        lines.push(out.bold("All tasks"));
        for t in &board.tasks {
            let who = t
                .assignee
                .as_deref()
                .map(|a| format!("  {a}"))
                .unwrap_or_default();
            lines.push(format!(
                "  {}  {}{}",
                task_label(out, t),
                status_word(out, t.status),
                out.cyan(&who)
            ));
        }
    }
    lines
}

/// `high`, `medium`, `low`: the priority as the plan spells it.
fn priority_word(t: &TaskView) -> String {
    serde_json::to_value(t.priority)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn finished(s: TaskStatus) -> bool {
    matches!(s, TaskStatus::Done | TaskStatus::Cancelled)
}

/// `3 "Auth API"`, the id bold.
fn task_label(out: &Out, t: &TaskView) -> String {
    format!("{} \"{}\"", out.bold(&format!("{:>4}", t.id)), t.title)
}

/// A status in its colour: done green, failed red, waiting yellow.
fn status_word(out: &Out, s: TaskStatus) -> String {
    let word = s.as_str();
    match s {
        TaskStatus::Done => out.green(word),
        TaskStatus::Failed => out.red(word),
        TaskStatus::Blocked | TaskStatus::Review => out.yellow(word),
        _ => word.to_string(),
    }
}
