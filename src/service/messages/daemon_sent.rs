//! Messages sent on a caller's behalf or by the daemon itself: `coordinate_sessions` (one
//! task message per assignment), a child's status to its parent, and system notes such as a
//! lock takeover.

use super::*;
use crate::domain::message::{Message, MessageKind, SYSTEM_SENDER, check_body};
use crate::domain::session::StatusReport;
use crate::domain::session_name;
use crate::service::{Caller, Coordinator, ServiceError};

impl Coordinator {
    /// `coordinate_sessions(task_description, assignments)` (seed 003): one `task` message
    /// per session ("<task>\n\nYour part: <subtask>"), each delivered or not on its own.
    pub async fn coordinate_sessions(
        &self,
        caller: &Caller,
        args: CoordinateArgs,
    ) -> Result<Coordinated, ServiceError> {
        let CoordinateArgs {
            task_description,
            assignments,
        } = args;
        let task = task_description.trim();
        if task.is_empty() {
            return Err(ServiceError::invalid(
                "task_description is empty; describe the overall task every session works toward",
            ));
        }
        if assignments.is_empty() {
            return Err(ServiceError::invalid(
                "assignments is empty; give {\"session-name\": \"its subtask\", …}",
            ));
        }
        if assignments.len() > MAX_ASSIGNMENTS {
            return Err(ServiceError::invalid(format!(
                "{} assignments; at most {MAX_ASSIGNMENTS} at once",
                assignments.len()
            )));
        }
        let max_bytes = self.settings().messages.max_bytes;
        let mut bodies = Vec::with_capacity(assignments.len());
        for (session, subtask) in &assignments {
            session_name::validate(session)
                .map_err(|e| ServiceError::invalid(format!("assignments: {e}")))?;
            if subtask.trim().is_empty() {
                return Err(ServiceError::invalid(format!(
                    "the subtask for {session} is empty; say what {session} should do"
                )));
            }
            let body = format!("{task}\n\nYour part: {}", subtask.trim());
            check_body(&body, max_bytes)
                .map_err(|e| ServiceError::invalid(format!("the task for {session}: {e}")))?;
            bodies.push((session.clone(), subtask.trim().to_string(), body));
        }
        let mut out = Vec::with_capacity(bodies.len());
        for (session, subtask, body) in bodies {
            let mut m = Message::new(&caller.session, &session, MessageKind::Task, body);
            m.wants_reply = false;
            let delivery = self.deliver(&m, None).await?;
            out.push(Assignment {
                session,
                subtask,
                delivery,
            });
        }
        let delivered_count = out.iter().filter(|a| a.delivery.delivered).count();
        Ok(Coordinated {
            success: delivered_count == out.len(),
            task_description: task.to_string(),
            failed_count: out.len() - delivered_count,
            delivered_count,
            assignments: out,
            timestamp: self.store().now_ms().await?,
        })
    }

    /// A child's status report, as a `status` message in its parent's inbox (`final` for
    /// done/failed). Called by `report_session_status` in the same request. Returns whether
    /// the parent got it (it may have ended).
    pub(crate) async fn route_status(
        &self,
        child: &str,
        parent: &str,
        report: &StatusReport,
    ) -> Result<bool, ServiceError> {
        let message = Message::status(child, parent, report);
        Ok(self.deliver(&message, None).await?.delivered)
    }

    /// A `task` message from `from` to `to` (a parent handing the child it spawned its
    /// board task: `create_session(task=…)`).
    pub(crate) async fn send_task_message(
        &self,
        from: &str,
        to: &str,
        body: String,
    ) -> Result<Delivery, ServiceError> {
        check_body(&body, self.settings().messages.max_bytes).map_err(ServiceError::invalid)?;
        self.deliver(&Message::new(from, to, MessageKind::Task, body), None)
            .await
    }

    /// A message from the daemon itself (`from: mcp-coord`, `system: true`) to a live
    /// session; `false` when it is not live.
    pub async fn send_system_message(&self, to: &str, body: String) -> Result<bool, ServiceError> {
        self.send_system(to, MessageKind::Info, body).await
    }

    /// A system message of another kind (a `task` one wakes an idle agent by default:
    /// `messages.wake_kinds`).
    pub async fn send_system(
        &self,
        to: &str,
        kind: MessageKind,
        body: String,
    ) -> Result<bool, ServiceError> {
        let mut message = Message::new(SYSTEM_SENDER, to, kind, body);
        message.system = true;
        Ok(self.deliver(&message, None).await?.delivered)
    }
}
