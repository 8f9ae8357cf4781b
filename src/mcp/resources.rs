//! MCP resources: live views a client can read and subscribe to.
//!
//! | URI | what | changes on |
//! |---|---|---|
//! | `coord://sessions` | `list_sessions` | registration, tier change, status report, end |
//! | `coord://sessions/{name}` | `get_session_status(name)` | the same, for that session |
//! | `coord://locks` | `list_locks("*", limit=5000)` | grant, takeover, release |
//! | `coord://inbox` | the caller's unread messages (a peek: reading marks nothing read) | a message to the caller |
//! | `coord://tasks` | `list_tasks()`: the task board of the caller's project | any task event (create, claim, update, hand-back) |

use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde_json::json;

use super::CoordServer;
use crate::service::ServiceError;
use crate::service::locks::{ListLocksArgs, MAX_LIST_LIMIT, WaitContext};
use crate::service::messages::{MAX_LIMIT, ReadArgs};
use crate::service::sessions::SessionArgs;

pub const SESSIONS: &str = "coord://sessions";
pub const LOCKS: &str = "coord://locks";
pub const INBOX: &str = "coord://inbox";
pub const TASKS: &str = "coord://tasks";
const SESSION_PREFIX: &str = "coord://sessions/";
const JSON: &str = "application/json";

pub fn session_uri(name: &str) -> String {
    format!("{SESSION_PREFIX}{name}")
}

/// Is `uri` one of ours (so it can be read and subscribed to)?
pub fn known(uri: &str) -> bool {
    matches!(uri, SESSIONS | LOCKS | INBOX | TASKS)
        || uri
            .strip_prefix(SESSION_PREFIX)
            .is_some_and(|n| crate::domain::session_name::validate(n).is_ok())
}

pub fn unknown(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!(
            "no resource {uri:?}; the resources are {SESSIONS}, {SESSIONS}/{{name}}, {LOCKS}, {INBOX} and {TASKS} (resources/list shows them)"
        ),
        None,
    )
}

pub fn list() -> ListResourcesResult {
    let r = |uri: &str, name: &str, what: &str| {
        Resource::new(uri, name)
            .with_description(what)
            .with_mime_type(JSON)
    };
    ListResourcesResult::with_all_items(vec![
        r(
            SESSIONS,
            "sessions",
            "Every live session with tier, parent, reported status (subscribe: updated on registration, tier change, status report, end).",
        ),
        r(
            LOCKS,
            "locks",
            "Every held lock with holder, tier, token and expiry (subscribe: updated on grant, takeover, release).",
        ),
        r(
            INBOX,
            "inbox",
            "Your unread messages (reading does not mark them read; get_session_messages does). Subscribe: updated when a message arrives.",
        ),
        r(
            TASKS,
            "tasks",
            "The task board of your project: counts by status, ready ids, every task with assignee and what it waits on (subscribe: updated when a task is created, claimed, updated or handed back).",
        ),
    ])
}

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new(format!("{SESSION_PREFIX}{{name}}"), "session")
            .with_description(
                "One session: tier, status, recent reports, children (subscribe: updated when it changes).",
            )
            .with_mime_type(JSON),
    ])
}

fn to_error(e: ServiceError) -> ErrorData {
    let data = json!({ "error": e.code });
    if e.code == "not_found" {
        ErrorData::resource_not_found(e.message, Some(data))
    } else {
        ErrorData::internal_error(e.message, Some(data))
    }
}

impl CoordServer {
    /// `resources/read`.
    pub(crate) async fn read_resource_uri(
        &self,
        uri: &str,
    ) -> Result<ReadResourceResult, ErrorData> {
        let coord = self.coord();
        let caller = self.caller();
        let value = match uri {
            SESSIONS => serde_json::to_value(
                coord
                    .list_sessions(&Default::default())
                    .await
                    .map_err(to_error)?,
            ),
            LOCKS => serde_json::to_value(
                coord
                    .list_locks(
                        &caller,
                        &ListLocksArgs {
                            limit: Some(MAX_LIST_LIMIT),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(to_error)?,
            ),
            INBOX => {
                let req = ReadArgs {
                    limit: Some(MAX_LIMIT as i64),
                    peek: true,
                    ..ReadArgs::default()
                };
                let messages = coord
                    .read_inbox(&caller, req, WaitContext::default())
                    .await
                    .map_err(to_error)?
                    .messages;
                Ok(json!({
                    "session": caller.session,
                    "unread": messages.len(),
                    "messages": messages,
                }))
            }
            TASKS => serde_json::to_value(
                coord
                    .list_tasks(&caller, Default::default())
                    .await
                    .map_err(to_error)?,
            ),
            other => match other.strip_prefix(SESSION_PREFIX) {
                Some(name) if known(other) => serde_json::to_value(
                    coord
                        .get_session_status(&SessionArgs {
                            session: name.to_string(),
                        })
                        .await
                        .map_err(to_error)?,
                ),
                _ => return Err(unknown(uri)),
            },
        }
        .map_err(|e| ErrorData::internal_error(format!("cannot encode {uri}: {e}"), None))?;
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type(JSON),
        ]))
    }
}
