//! Admin operations (issue 16): what only an admin token may do — force-release any lock,
//! end any session, read any inbox, kill any child. Each is one use-case here, called alike
//! by the MCP tools (`admin_*`), the CLI (`mcp-coord admin …`) and the dashboard.
//!
//! Every operation takes an [`Admin`], which can only be made from a principal with the
//! admin role: a front-end cannot forget the check. Every action is audited with the admin
//! (its session, connection and token id) as `by`, under the tool's name as `kind`.
//!
//! They reuse the paths the holders themselves take: ending goes through
//! `end_named_with_delay` (locks released, tasks handed back), killing through
//! `kill_session_unaudited`, reading through `read_inbox` (always a peek). What an admin
//! adds is the lock-delay reserved for nobody: a session whose lock was taken from it, or
//! that was ended under it, may still be running, so nobody else is granted its locks until
//! `locks.lock_delay_seconds` have passed (as after a takeover).

mod end_session;
mod inbox;
mod kill;
mod release_lock;
pub mod types;

pub use types::*;

use super::audit::{self, AuditRecord};
use super::{Caller, Coordinator, ServiceError};
use crate::domain::auth::Principal;

/// Proof that the caller is an admin: built only by [`Admin::new`], which refuses others.
#[derive(Debug, Clone)]
pub struct Admin {
    caller: Caller,
    principal: Principal,
}

impl Admin {
    /// The caller as an admin, or `forbidden` naming the role it needs.
    pub fn new(caller: Caller, principal: Principal) -> Result<Admin, ServiceError> {
        if !principal.is_admin() {
            return Err(ServiceError::forbidden(format!(
                "this needs role admin and this connection has role {}; ask an admin for a \
                 token with that role (mcp-coord token create --role admin), or ask an admin to do it",
                principal.role
            ))
            .with_details(serde_json::json!({ "needs_role": "admin", "role": principal.role })));
        }
        Ok(Admin { caller, principal })
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// May this admin act on `session`? An admin token limited to session patterns
    /// (`--sessions 'child_web_*'`) ends, kills and reads the inboxes of those sessions only.
    pub fn check_target(&self, session: &str) -> Result<(), ServiceError> {
        if self.principal.may_act_as(session) {
            return Ok(());
        }
        Err(ServiceError::forbidden(format!(
            "this admin token is limited to sessions matching {:?}, and {session} is not one of them; use an admin token without session patterns for it",
            self.principal.session_patterns
        ))
        .with_details(serde_json::json!({
            "session": session,
            "session_patterns": self.principal.session_patterns,
        })))
    }

    /// Force-releasing needs an admin token without session patterns: whose lock it is is
    /// only known inside the one atomic release, so a limited token could not be held to
    /// its patterns there.
    pub fn check_unlimited(&self, what: &str) -> Result<(), ServiceError> {
        if self.principal.session_patterns.is_empty() {
            return Ok(());
        }
        Err(ServiceError::forbidden(format!(
            "{what} needs an admin token that is not limited to session patterns (this one is limited to {:?}): the lock's holder may change under the call. End the holder's session instead (admin_end_session, which releases its locks), or use an unlimited admin token",
            self.principal.session_patterns
        ))
        .with_details(serde_json::json!({
            "needs": "admin token without session patterns",
            "session_patterns": self.principal.session_patterns,
        })))
    }

    /// How the admin is named to the sessions it acts on (notes, messages).
    fn name(&self) -> String {
        match &self.principal.token_id {
            Some(t) => format!("admin {} (token {t})", self.caller.session),
            None => format!("admin {}", self.caller.session),
        }
    }

    /// The audit `by`: the current call's actor (with its peer address) or the caller, with
    /// the admin's token id.
    fn actor(&self) -> audit::AuditActor {
        let mut by = audit::current_actor().unwrap_or_else(|| audit::actor(&self.caller, None));
        by.token = self.principal.token_id.clone();
        by
    }
}

impl Coordinator {
    /// Records an admin action `kind` on `target` (a session) or `lock`, with its outcome.
    fn audit_admin<T>(
        &self,
        admin: &Admin,
        kind: &str,
        target: &str,
        lock: Option<&str>,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut entry = AuditRecord::outcome_of(kind, &result)
            .session(&admin.caller.session)
            .target(target);
        if let Some(l) = lock {
            entry = entry.lock(l);
        }
        entry.by = Some(admin.actor());
        self.audit().record(entry);
        result
    }
}
