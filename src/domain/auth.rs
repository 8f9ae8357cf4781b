//! Who a request is (issue 16): roles, the principal a bearer token stands for, which tools
//! each role may call, and which session names a token may act as. Pure rules; the HTTP edge
//! (`http/auth.rs`) finds the principal, the MCP handler applies these.

use serde::Serialize;

use super::named_enum::named_enum;

named_enum! {
    /// What a token may do. Ordered: `Observer < Agent < Admin` (each may do what the ones
    /// below it may).
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        /// Read-only tools: see sessions, locks, tasks, logs; change nothing.
        Observer = "observer",
        /// What an agent session does: locks, messages, its own session, its children.
        Agent = "agent",
        /// Everything, including acting for other sessions: force-release, end any session,
        /// read any inbox, kill any child, resume grants.
        Admin = "admin",
    }
}

impl Role {
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::from_name(s.trim()).ok_or_else(|| {
            format!(
                "unknown role {:?}; roles are admin, agent and observer",
                s.trim()
            )
        })
    }
}

/// Tools that change nothing: an observer may call them (they carry `read_only_hint`).
pub const OBSERVER_TOOLS: &[&str] = &[
    "check_lock",
    "list_locks",
    "session_status",
    "list_sessions",
    "get_session_status",
    "get_child_sessions",
    "wait_for_children",
    "whoami",
    "health_check",
    "get_task",
    "list_tasks",
    "export_tasks",
    "get_session_logs",
    "audit_log",
];

/// Tools only an admin may call: they act for sessions other than the caller's, manage
/// tokens, or lift the data-loss hold for everyone.
pub const ADMIN_TOOLS: &[&str] = &[
    "token_create",
    "token_list",
    "token_revoke",
    "resume_grants",
    "admin_release_lock",
    "admin_end_session",
    "admin_read_inbox",
    "admin_kill_session",
];

/// The least role that may call `tool` (every tool not listed is an agent's).
pub fn required_role(tool: &str) -> Role {
    if ADMIN_TOOLS.contains(&tool) {
        Role::Admin
    } else if OBSERVER_TOOLS.contains(&tool) {
        Role::Observer
    } else {
        Role::Agent
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The token's id (`tok_…`, never the secret); `None` = no token: loopback with
    /// `auth.required = false`; `Some("bootstrap")` = the daemon's own admin credential.
    pub token_id: Option<String>,
    pub role: Role,
    /// Session names this principal may act as (globs like `child_web_*`); empty = any.
    pub session_patterns: Vec<String>,
}

impl Default for Principal {
    fn default() -> Self {
        Self::local()
    }
}

impl Principal {
    /// No token on a daemon that does not require one: an agent, any session name.
    pub fn local() -> Self {
        Self {
            token_id: None,
            role: Role::Agent,
            session_patterns: Vec::new(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn may_call(&self, tool: &str) -> bool {
        self.role >= required_role(tool)
    }

    /// Ok when this principal may act as `session`; else the sentence saying which names it
    /// may act as.
    pub fn check_session(&self, session: &str) -> Result<(), String> {
        if self.may_act_as(session) {
            return Ok(());
        }
        Err(format!(
            "this token may act only as sessions matching {:?}, not {session}; connect as one \
             of those, or ask an admin for a token that allows it",
            self.session_patterns
        ))
    }

    /// True when `session` matches one of the patterns (or there are none).
    pub fn may_act_as(&self, session: &str) -> bool {
        self.session_patterns.is_empty()
            || self
                .session_patterns
                .iter()
                .any(|p| pattern_matches(p, session))
    }
}

/// Checks a session pattern: a session name where `*` may stand for any run of characters.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let literal = pattern.replace('*', "x");
    crate::domain::session_name::validate(&literal)
        .map_err(|e| format!("session pattern {pattern:?}: {e} (`*` matches any characters)"))
}

/// Glob match with `*` only (session names have no other special characters).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    first.len() + last.len() <= name.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_tools() {
        assert!(Role::Admin > Role::Agent && Role::Agent > Role::Observer);
        assert_eq!(required_role("list_locks"), Role::Observer);
        assert_eq!(required_role("acquire_lock"), Role::Agent);
        assert_eq!(required_role("token_create"), Role::Admin);
        let observer = Principal {
            role: Role::Observer,
            ..Principal::local()
        };
        assert!(observer.may_call("whoami") && !observer.may_call("release_lock"));
        assert_eq!(Role::parse(" admin ").unwrap(), Role::Admin);
        assert!(
            Role::parse("root")
                .unwrap_err()
                .contains("admin, agent and observer")
        );
    }

    #[test]
    fn session_patterns() {
        assert!(pattern_matches("child_web_*", "child_web_task_3"));
        assert!(!pattern_matches("child_web_*", "child_api_task_3"));
        assert!(pattern_matches("w1", "w1") && !pattern_matches("w1", "w12"));
        assert!(pattern_matches("*_task_*", "child_web_task_3"));
        assert!(pattern_matches("a*a", "aa") && !pattern_matches("a*a", "a"));
        assert!(pattern_matches("*", "anything"));
        let p = Principal {
            session_patterns: vec!["child_web_*".into()],
            ..Principal::local()
        };
        assert!(p.may_act_as("child_web_1") && !p.may_act_as("master_project_web"));
        assert!(Principal::local().may_act_as("x"));
        assert!(check_pattern("child_web_*").is_ok() && check_pattern("a b*").is_err());
    }
}
