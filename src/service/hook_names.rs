//! Which session a Claude Code hook event acts for, and the readable name of an agent
//! started by hand (issue 15, Must 4).
//!
//! - `COORD_SESSION` in the hook's environment (set by `create_session`, scripts, users)
//!   names the session, as always.
//! - Else the session this Claude session was registered as before (its binding, see
//!   [`super::claude_bindings`]): the name stays the same across `/clear`, compaction, a
//!   daemon restart and a resume that keeps Claude's id.
//! - Else (SessionStart of a new agent) a readable name from its worktree and branch
//!   ([`session_name::readable`]: `webapp.feature-login`): the first of `base`, `base-2`,
//!   `base-3` … that no other live session holds. A resumed agent whose old session ended
//!   gets its old name back, since that name is free again. Without a usable directory,
//!   Claude's id is the name, as before.
//!
//! Claude's id stays an alias of the session (the binding): `bind_session` and
//! `send_message_to_session` accept it.
//!
//! The choice is safe against two agents starting in one worktree at once: the name is
//! registered with a claim (the store refuses it when another connection holds it and is
//! active), and a refused candidate moves on to the next one.

use serde_json::Value;

use super::claims::{self, Claimed};
use super::hooks::{HookEvent, register_request};
use super::sessions::{Registered, is_in_use_elsewhere};
use super::{Caller, Coordinator, ServiceError};
use crate::domain::session::SessionRecord;
use crate::domain::session_name::{self, MAX_SUFFIX};

impl HookEvent {
    /// `COORD_SESSION` from the hook's environment, checked; `None` when unset or blank.
    pub fn coord_session(&self) -> Result<Option<String>, ServiceError> {
        let Some(name) = self
            .coord
            .session
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return Ok(None);
        };
        session_name::validate(name).map_err(|e| {
            ServiceError::invalid(format!(
                "COORD_SESSION is not a usable session name ({e}); fix it or unset it"
            ))
        })?;
        Ok(Some(name.to_string()))
    }

    /// The readable base name: the worktree root's directory (else cwd's) and the branch.
    pub fn readable_base(&self) -> Option<String> {
        let dir = self
            .coord
            .worktree
            .as_deref()
            .or(self.cwd.as_deref())
            .filter(|d| !d.trim().is_empty())?;
        session_name::readable(dir, self.coord.git_branch.as_deref())
    }
}

/// The caller of hook `event` acting for session `name` (with the token it was posted with).
pub fn hook_caller_for(name: &str, event: &HookEvent) -> Caller {
    Caller {
        session: name.to_string(),
        connection_id: format!("hook:{}", event.session_id),
        transport: "hook",
        principal: event.principal.clone(),
    }
}

/// True when `record` was registered by this Claude session's hooks.
fn registered_by(record: &SessionRecord, claude_id: &str) -> bool {
    record
        .metadata
        .get("claude_session_id")
        .and_then(Value::as_str)
        == Some(claude_id)
        || record.connection_id == format!("hook:{claude_id}")
}

impl Coordinator {
    /// The session `event` acts for, and the registration when finding it registered the
    /// session (a new agent without `COORD_SESSION`), with the claim that allowed it
    /// (issue 16; `None` = not checked yet: the caller checks). See the module comment for
    /// the order.
    pub async fn hook_session(
        &self,
        event: &HookEvent,
    ) -> Result<(String, Option<Registered>, Option<Claimed>), ServiceError> {
        if let Some(named) = event.coord_session()? {
            return Ok((named, None, None));
        }
        // Claude's id must be usable even when a readable name is chosen: it is the alias.
        let fallback = event.session_name()?;
        let claude_id = event.session_id.trim();
        let known = self.claude_session(claude_id).await;
        if event.hook_event_name != "SessionStart" {
            if let Some(name) = known {
                return Ok((name, None, None));
            }
            if event.hook_event_name == "SessionEnd" {
                // Nothing to end, nothing worth a new name for.
                return Ok((fallback, None, None));
            }
        }
        let (name, registered, claimed) = self.claim_readable(event, known).await?;
        Ok((name, Some(registered), Some(claimed)))
    }

    /// Registers the first free candidate: the name this Claude session had, then the
    /// readable ones, then Claude's id. Each must pass the claim check (issue 16) with the
    /// hook's credential; the name this Claude session had refusing it refuses the event
    /// (a forged event must not move another agent's Claude id to a new name).
    async fn claim_readable(
        &self,
        event: &HookEvent,
        known: Option<String>,
    ) -> Result<(String, Registered, Claimed), ServiceError> {
        let claude_id = event.session_id.trim();
        let had = known.clone();
        let mut candidates: Vec<String> = known.into_iter().collect();
        if let Some(base) = event.readable_base() {
            candidates.extend((1..=MAX_SUFFIX).map(|n| session_name::candidate(&base, n)));
        }
        candidates.push(event.session_name()?);
        let mut tried = Vec::new();
        for name in candidates {
            if tried.contains(&name) {
                continue;
            }
            tried.push(name.clone());
            let existing = self.store().get_session(&name).await?;
            let ours = existing
                .as_ref()
                .is_some_and(|e| registered_by(&e.record, claude_id));
            if existing.as_ref().is_some_and(|e| e.live) && !ours {
                continue; // a live session of another agent: try the next name
            }
            let caller = hook_caller_for(&name, event);
            let claimed = match self
                .claim_session(
                    &caller,
                    event.coord.credential.as_ref().map(|s| s.0.as_str()),
                )
                .await
            {
                Ok(c) => c,
                Err(e) if e.code == claims::REFUSED && had.as_deref() != Some(name.as_str()) => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let req = register_request(&name, event);
            let result = if ours {
                self.register_session(&caller, true, req).await
            } else {
                self.register_claiming(&caller, req).await
            };
            match result {
                Ok(registered) => {
                    if tried.len() > 1 {
                        tracing::info!(session = %name, taken = ?&tried[..tried.len() - 1], "readable name taken by live sessions; suffixed");
                    }
                    return Ok((name, registered, claimed));
                }
                Err(e) if is_in_use_elsewhere(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::new(
            "conflict",
            format!(
                "every name for this agent is held by another live session ({}); set COORD_SESSION to choose one",
                tried.join(", ")
            ),
        ))
    }
}
