//! `tasks import FILE` / `tasks export [-o FILE]`: TaskMaster-AI's tasks.json in and out
//! (issue 17), thin over the `import_tasks` / `export_tasks` tools. The CLI reads and writes
//! the file (the daemon may be on another host); the conversion is the service's.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use super::{CliError, EXIT_OK, Global, Out};
use crate::service::tasks::{ExportTasksArgs, ExportedTasks, ImportTasksArgs, ImportedTasks};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The tasks.json (e.g. .taskmaster/tasks/tasks.json).
    pub file: PathBuf,
    /// The project to create them in (default: the CLI session's own project).
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Which tag of a tagged file (default master).
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The project to export (default: the CLI session's own project).
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// The tag to write the tasks under (default master).
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Write here (an existing tasks.json keeps its other tags); default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub async fn import(global: &Global, out: &Out, a: ImportArgs) -> Result<u8, CliError> {
    let file = read_json(&a.file)?
        .ok_or_else(|| CliError::Usage(format!("{} does not exist", a.file.display())))?;
    let answer = call(
        global,
        "import_tasks",
        &ImportTasksArgs {
            file,
            tag: a.tag.clone(),
            project: a.project.clone(),
        },
        a.project.is_none(),
    )
    .await?;
    if out.json {
        out.json(&answer);
        return Ok(EXIT_OK);
    }
    let got: ImportedTasks = decode(answer, "import_tasks")?;
    let c = &got.created;
    println!(
        "imported {} tasks from {} (tag {}) into project {} as batch {}: {}",
        c.created,
        a.file.display(),
        got.tag,
        c.project,
        c.batch,
        c.ids.join(", ")
    );
    println!(
        "ready now: {}",
        if c.ready.is_empty() {
            "none".to_string()
        } else {
            c.ready.join(", ")
        }
    );
    if !got.assignees_not_carried.is_empty() {
        println!(
            "not carried: the TaskMaster assignee of {} (here next_task assigns tasks)",
            got.assignees_not_carried.join(", ")
        );
    }
    if !c.in_progress_unassigned.is_empty() {
        println!(
            "in progress with nobody here on them: {} — next_task hands out pending tasks only; \
             `mcp-coord tasks` board, or update_task(status=\"pending\") to make one claimable",
            c.in_progress_unassigned.join(", ")
        );
    }
    Ok(EXIT_OK)
}

pub async fn export(global: &Global, out: &Out, a: ExportArgs) -> Result<u8, CliError> {
    let into = match &a.output {
        Some(path) => read_json(path)?,
        None => None,
    };
    let answer = call(
        global,
        "export_tasks",
        &ExportTasksArgs {
            tag: a.tag.clone(),
            into,
            project: a.project.clone(),
        },
        a.project.is_none(),
    )
    .await?;
    let got: ExportedTasks = decode(answer, "export_tasks")?;
    let text = serde_json::to_string_pretty(&got.file)
        .map_err(|e| CliError::Failed(format!("cannot encode the tasks.json: {e}")))?;
    let Some(path) = &a.output else {
        println!("{text}");
        return Ok(EXIT_OK);
    };
    write_file(path, &text)?;
    if out.json {
        out.json(&serde_json::json!({
            "project": got.project, "tag": got.tag, "exported": got.exported,
            "output": path.display().to_string(),
        }));
    } else {
        let others: Vec<&String> = got
            .file
            .as_object()
            .map(|o| o.keys().filter(|k| **k != got.tag).collect())
            .unwrap_or_default();
        println!(
            "exported {} tasks of project {} to {} as tag {}{}",
            got.exported,
            got.project,
            path.display(),
            got.tag,
            if others.is_empty() {
                String::new()
            } else {
                format!(
                    " (other tags kept: {})",
                    others
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    Ok(EXIT_OK)
}

/// One tool call; a refusal about the default project says how to name one.
async fn call<A: serde::Serialize>(
    global: &Global,
    tool: &str,
    args: &A,
    default_project: bool,
) -> Result<Value, CliError> {
    let daemon = global.connect().await?;
    let result = daemon.call(tool, args).await;
    daemon.close().await;
    result.map_err(|e| match e {
        CliError::Refused { message, json }
            if default_project && message.contains("belong to no project") =>
        {
            CliError::Refused {
                message: format!("{message} (here: --project P)"),
                json,
            }
        }
        other => other,
    })
}

fn decode<T: serde::de::DeserializeOwned>(answer: Value, tool: &str) -> Result<T, CliError> {
    serde_json::from_value(answer)
        .map_err(|e| CliError::Failed(format!("the daemon's {tool} answer is unreadable: {e}")))
}

/// The JSON in `path`; `None` when there is no such file.
fn read_json(path: &Path) -> Result<Option<Value>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::Failed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        CliError::Failed(format!(
            "{} is not JSON (line {}, column {}: {e}); a TaskMaster tasks.json is a JSON object",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader (task-master)
/// never sees half a file.
fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tasks.json".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, format!("{text}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::Failed(format!("cannot write {}: {e}", path.display()))
        })
}
