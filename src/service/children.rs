//! `wait_for_children`: a master waits, in one call, until every child of its has given its
//! last word — a final status report (`done` or `failed`) — or has ended without one.
//!
//! Children's reports land in the master's inbox, so the wait sleeps on the master's inbox
//! wake-ups (and re-reads at least every [`super::messages::RECHECK`]); it reads the
//! children's records, never the inbox, so it consumes nothing the master has not read.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::locks::WaitContext;
use super::{Caller, Coordinator, ServiceError};
use crate::domain::session::{SessionEntry, WorkState};

/// `wait_for_children` without `timeout_seconds`.
pub const DEFAULT_CHILDREN_TIMEOUT: u64 = 300;

/// What `wait_for_children` asks for.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitChildrenArgs {
    /// Wait at most this many seconds (default 300, at most messages.max_wait_seconds);
    /// 0 = answer now. `timeout` is accepted too.
    #[serde(default, alias = "timeout")]
    pub timeout_seconds: Option<i64>,
}

/// One child, as far as the wait is concerned.
#[derive(Debug, Clone, Serialize)]
pub struct ChildOutcome {
    pub name: String,
    /// Its last reported state (`null` when it never reported).
    pub state: Option<WorkState>,
    pub summary: Option<String>,
    /// `done`/`failed` reported, or ended.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub ended: bool,
}

/// The answer of `wait_for_children`.
#[derive(Debug, Clone, Serialize)]
pub struct ChildrenOutcome {
    /// Every child is final.
    pub all_final: bool,
    pub timed_out: bool,
    pub final_count: usize,
    /// Children still working (not final), by name.
    pub pending: Vec<String>,
    pub children: Vec<ChildOutcome>,
    pub waited_ms: u64,
}

fn outcome(e: &SessionEntry) -> ChildOutcome {
    let status = e.record.status.as_ref();
    let state = status.map(|s| s.state);
    let ended = !e.live;
    ChildOutcome {
        name: e.record.name.clone(),
        state,
        summary: status.and_then(|s| s.summary.clone()),
        is_final: ended || state.is_some_and(WorkState::is_final),
        ended,
    }
}

impl Coordinator {
    /// Waits until every child of the caller is final (see the module docs) or the timeout.
    pub async fn wait_for_children(
        &self,
        caller: &Caller,
        req: WaitChildrenArgs,
        wait: WaitContext,
    ) -> Result<ChildrenOutcome, ServiceError> {
        let max = self.settings().messages.max_wait_seconds;
        let secs = match req.timeout_seconds {
            None => DEFAULT_CHILDREN_TIMEOUT.min(max),
            Some(t) if t < 0 => {
                return Err(ServiceError::invalid(format!(
                    "timeout_seconds must be 0 to {max}; got {t}"
                )));
            }
            Some(t) => (t as u64).min(max),
        };
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);
        let mut hints = self.store().inbox_events();
        loop {
            let entries = self.store().child_sessions(&caller.session).await?;
            if entries.is_empty() {
                return Err(ServiceError::not_found(format!(
                    "you ({}) have no children to wait for; create_session spawns one, \
                     register_session_relationship links one",
                    caller.session
                )));
            }
            let mut children: Vec<ChildOutcome> = entries.iter().map(outcome).collect();
            children.sort_by(|a, b| a.name.cmp(&b.name));
            let pending: Vec<String> = children
                .iter()
                .filter(|c| !c.is_final)
                .map(|c| c.name.clone())
                .collect();
            let now = Instant::now();
            let open =
                !wait.cancel.is_cancelled() && wait.connection_open.as_ref().is_none_or(|f| f());
            if pending.is_empty() || now >= deadline || !open {
                return Ok(ChildrenOutcome {
                    all_final: pending.is_empty(),
                    timed_out: !pending.is_empty(),
                    final_count: children.len() - pending.len(),
                    pending,
                    children,
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            super::messages::wake_for(
                &mut hints,
                &caller.session,
                deadline.min(now + super::messages::RECHECK),
                &wait,
            )
            .await;
        }
    }
}
