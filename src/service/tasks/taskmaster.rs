//! `import_tasks` / `export_tasks`: TaskMaster's `tasks.json` in and out (issue 17). The
//! conversion is `domain::tasks::taskmaster`; an import is one `create_tasks` batch (so it
//! is checked and created all or nothing like any other), an export one read of the board.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::{CreateTasksArgs, ExportTasksArgs, ExportedTasks, ImportTasksArgs, ImportedTasks};
use crate::domain::tasks::taskmaster::{
    DEFAULT_TAG, check_tag, export_tasks, import_tasks, into_file,
};
use crate::service::{Caller, Coordinator, ServiceError};

impl Coordinator {
    pub async fn import_tasks(
        &self,
        caller: &Caller,
        args: ImportTasksArgs,
    ) -> Result<ImportedTasks, ServiceError> {
        let file = match args.file {
            Value::String(text) => serde_json::from_str(&text).map_err(|e| {
                ServiceError::invalid(format!(
                    "file is text that is not JSON ({e}); pass the tasks.json object. Nothing \
                     was created"
                ))
            })?,
            other => other,
        };
        let imported = import_tasks(&file, args.tag.as_deref())
            .map_err(|e| ServiceError::invalid(format!("{e}. Nothing was created")))?;
        if imported.tasks.is_empty() {
            return Err(ServiceError::invalid(format!(
                "tag {} of the file has no tasks; nothing to import (its tags: {})",
                imported.tag,
                imported.tags.join(", ")
            )));
        }
        let created = self
            .create_tasks(
                caller,
                CreateTasksArgs {
                    tasks: imported.tasks,
                    project: args.project,
                },
            )
            .await?;
        Ok(ImportedTasks {
            created,
            tag: imported.tag,
            legacy: imported.legacy,
            tags: imported.tags,
            assignees_not_carried: imported.dropped_assignees,
        })
    }

    pub async fn export_tasks(
        &self,
        caller: &Caller,
        args: ExportTasksArgs,
    ) -> Result<ExportedTasks, ServiceError> {
        let project = self.task_project(caller, args.project).await?;
        let tag = match args.tag.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_TAG.to_string(),
            Some(t) => {
                check_tag(t).map_err(ServiceError::invalid)?;
                t.to_string()
            }
        };
        let records = self.store().list_tasks(&project).await?;
        let now_ms = self.store().now_ms().await?;
        let now = humantime::format_rfc3339_millis(
            UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or_default()),
        )
        .to_string();
        let file = into_file(
            args.into.as_ref(),
            &tag,
            export_tasks(&records),
            &format!("Tasks of mcp-coord project {project}"),
            &now,
        )
        .map_err(ServiceError::invalid)?;
        Ok(ExportedTasks {
            project,
            tag,
            exported: records.len(),
            file,
        })
    }
}
