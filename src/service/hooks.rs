//! Claude Code hook events, handled once for both ways they arrive: the `mcp-coord hook`
//! command (which POSTs the event plus the facts only it can see) and Claude's own `http`
//! hooks (`POST /hooks/claude`).
//!
//! | event            | effect                                              | answer                        |
//! |------------------|-----------------------------------------------------|-------------------------------|
//! | SessionStart     | register/refresh the session, remember Claude's id  | context: name, parent, locks  |
//! | UserPromptSubmit | heartbeat                                           | unread messages as context    |
//! | PostToolUse      | heartbeat                                           | unread messages as context    |
//! | Notification     | status `waiting`                                    | nothing                       |
//! | Stop             | status `idle`                                       | unread task → `block` + text  |
//! | SessionEnd       | end the session, release its locks                  | nothing                       |
//!
//! The session's name is `COORD_SESSION` from the hook's environment when set, else the
//! name this Claude session was registered as, else a readable one from its worktree and
//! branch ([`super::hook_names`]). Each event records Claude's id → that name in the store
//! ([`super::claude_bindings`]), so the `bind_session` tool (called by a UserPromptSubmit
//! `mcp_tool` hook on the agent's own MCP connection) binds that connection to the same
//! session, also after a daemon restart, and Claude's id works as an alias of the name.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::hook_names::hook_caller_for;
use super::locks::WaitContext;
use super::messages::ReadArgs;
use super::sessions::{RegisterArgs, ReportArgs};
use super::{Caller, Coordinator, ServiceError};
use crate::domain::message::{Message, MessageKind};
use crate::domain::session_name;

/// `bind_session`: the `mcp_tool` hook's argument (the binding itself is the MCP layer's,
/// since it changes the calling connection).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BindArgs {
    /// Claude Code's session id (the hook passes `${session_id}`).
    pub session_id: String,
}

/// Claude caps hook output at 10 000 characters; stay under it.
const MAX_CONTEXT_CHARS: usize = 9_000;

/// One hook event as Claude sends it (unknown fields ignored), plus our `coord` facts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HookEvent {
    pub hook_event_name: String,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub transcript_path: Option<String>,
    /// SessionStart: startup | resume | clear | compact.
    #[serde(default)]
    pub source: Option<String>,
    /// SessionEnd: clear | logout | prompt_input_exit | other …
    #[serde(default)]
    pub reason: Option<String>,
    /// Stop: true when Claude is already continuing because of a Stop hook.
    #[serde(default)]
    pub stop_hook_active: bool,
    #[serde(default)]
    pub tool_name: Option<String>,
    /// Notification: the text Claude shows the user.
    #[serde(default)]
    pub message: Option<String>,
    /// Facts the `mcp-coord hook` process adds (absent for `http` hooks).
    #[serde(default)]
    pub coord: HookFacts,
    /// Who posted it (the request's bearer token; set by the HTTP edge, never from JSON).
    #[serde(skip)]
    pub principal: crate::domain::auth::Principal,
}

/// What the hook process saw: its environment, git, tmux (`mcp-coord hook` builds it;
/// absent fields are left out of the JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HookFacts {
    /// `COORD_SESSION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// `MASTER_SESSION_ID`: the parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_session_id: Option<String>,
    /// `TASK_ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `SESSION_ROLE`: master | child | agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `TMUX_PANE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmux_pane: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The Claude Code process (the hook's parent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claude_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    /// The session's credential (the hook's private file, else `COORD_CREDENTIAL`): proof
    /// that this hook is the session it names (issue 16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Secret>,
    /// Asks the daemon to answer a newly issued credential in `coord.credential` (the hook
    /// command stores it and removes it before Claude sees the answer).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub want_credential: bool,
}

/// A secret that never shows in `Debug` output (events are logged).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl HookEvent {
    /// The name when nothing better is known: `COORD_SESSION`, else Claude's id (see
    /// [`Coordinator::hook_session`] for the readable name).
    pub fn session_name(&self) -> Result<String, ServiceError> {
        if let Some(named) = self.coord_session()? {
            return Ok(named);
        }
        let name = self.session_id.trim();
        session_name::validate(name).map_err(|e| {
            ServiceError::invalid(format!(
                "hook event names no usable session ({e}); Claude sends session_id, or set COORD_SESSION"
            ))
        })?;
        Ok(name.to_string())
    }
}

/// `{"hookSpecificOutput":{"hookEventName":…,"additionalContext":…}}` — text for the agent.
pub fn context_answer(event: &str, text: &str) -> Value {
    json!({ "hookSpecificOutput": {
        "hookEventName": event,
        "additionalContext": crate::domain::session_name::truncate(text, MAX_CONTEXT_CHARS),
    }})
}

/// `{"decision":"block","reason":…}` — for Stop: Claude carries on with `reason`.
pub fn block_answer(reason: &str) -> Value {
    json!({ "decision": "block", "reason": crate::domain::session_name::truncate(reason, MAX_CONTEXT_CHARS) })
}

/// Messages as hook context: one block per message, newest last; `None` when there are none.
fn messages_text(messages: &[Message]) -> Option<String> {
    if messages.is_empty() {
        return None;
    }
    let mut s = format!(
        "{} new message(s) for you (mcp-coord). Answer with send_message_to_session(kind=\"reply\", reply_to=<id>, message=…).\n",
        messages.len()
    );
    for m in messages {
        s.push_str(&format!(
            "\n[{}] from {} (id {}):\n{}\n",
            m.kind.as_str(),
            m.from,
            m.id,
            m.body
        ));
    }
    Some(s)
}

/// The text a wake-up gives the model (the hook's stderr, shown as a system reminder);
/// `None` when there are no messages.
pub fn wake_text(session: &str, messages: &[Message]) -> Option<String> {
    let list = messages_text(messages)?;
    Some(crate::domain::session_name::truncate(
        &format!("mcp-coord woke session `{session}` while it was idle: act on these now.\n{list}"),
        MAX_CONTEXT_CHARS,
    ))
}

/// What the agent is told at SessionStart.
pub fn start_context(name: &str, parent: Option<&str>, branch: Option<&str>) -> String {
    let mut s = format!(
        "Coordination (mcp-coord): you are session `{name}` on this machine's coordination daemon"
    );
    match parent {
        Some(p) => s.push_str(&format!(
            "; your parent session is `{p}` (report to it with report_session_status)"
        )),
        None => s.push_str("; you have no parent session"),
    }
    s.push_str(
        ".\nOther agent sessions work beside you; use the `coordination` MCP tools:\n\
         - acquire_lock(\"pytest\") before running the test suite, release_lock(\"pytest\") after \
         (or run it as `mcp-coord run --lock pytest -- pytest -x`);\n\
         - acquire_lock(\"pr-create\") before opening a pull request, release it after;\n",
    );
    match branch {
        Some(b) => s.push_str(&format!(
            "- acquire_lock(\"work\") claims the issue of your branch `{b}` before you start on it;\n"
        )),
        None => s.push_str("- acquire_lock(\"work\") claims the issue named by your git branch;\n"),
    }
    s.push_str(
        "- if a lock is held, wait (wait_seconds) or work on something else; never force another's lock.\n\
         Messages for you are shown here as they arrive.",
    );
    s
}

impl Coordinator {
    /// The session the waiting hook acts for (`/hooks/claude/wait`, `/claim`): never
    /// registers one: `COORD_SESSION`, else the name the SessionStart hook registered for
    /// this Claude session, else Claude's id. It only proves the session with the hook's
    /// credential ([`Coordinator::prove_session`]) and never claims it: it runs beside the
    /// SessionStart hook that does.
    pub async fn hook_caller(&self, event: &HookEvent) -> Result<Caller, ServiceError> {
        let known = match event.coord_session()? {
            Some(_) => None,
            None => self.claude_session(event.session_id.trim()).await,
        };
        let name = match known {
            Some(known) => known,
            None => event.session_name()?,
        };
        let caller = hook_caller_for(&name, event);
        self.prove_session(&caller, hook_credential(event)).await?;
        Ok(caller)
    }

    /// Handles one hook event and returns Claude's answer (`{}` when there is nothing to say).
    ///
    /// The hook must prove it is the session first (its credential, see
    /// [`super::claims`]); only then is Claude's id bound to the name — that binding is what
    /// lets `bind_session` prove the agent's own MCP connection. A new credential goes back
    /// in `coord.credential` when the hook asked for it.
    pub async fn handle_hook(&self, event: HookEvent) -> Result<Value, ServiceError> {
        let (name, registered, claimed) = self.hook_session(&event).await?;
        let caller = hook_caller_for(&name, &event);
        let claimed = match claimed {
            Some(c) => c,
            None => self.claim_session(&caller, hook_credential(&event)).await?,
        };
        if !event.session_id.is_empty() && event.hook_event_name != "SessionEnd" {
            self.remember_claude_session(&event.session_id, &name).await;
        }
        if event.hook_event_name == "SessionStart" {
            self.bound_connections().forget(event.session_id.trim());
        }
        let mut answer = self.hook_answer(&event, &caller, registered).await?;
        if let (Some(credential), true, Value::Object(map)) =
            (claimed.credential, event.coord.want_credential, &mut answer)
        {
            map.insert("coord".into(), json!({ "credential": credential }));
        }
        Ok(answer)
    }

    async fn hook_answer(
        &self,
        event: &HookEvent,
        caller: &Caller,
        registered: Option<super::sessions::Registered>,
    ) -> Result<Value, ServiceError> {
        let name = caller.session.clone();
        if let Some(pid) = event.coord.claude_pid {
            match event.hook_event_name.as_str() {
                "SessionEnd" => self.claude_processes().forget(pid),
                _ => self.claude_processes().note(pid, &name),
            }
        }
        let caller = hook_caller_for(&name, event);
        match event.hook_event_name.as_str() {
            "SessionStart" => {
                let registered = match registered {
                    Some(done) => done,
                    None => {
                        self.register_session(&caller, true, register_request(&name, event))
                            .await?
                    }
                };
                let parent = registered.session.parent.clone();
                let branch = event.coord.git_branch.as_deref().filter(|b| *b != "HEAD");
                Ok(context_answer(
                    "SessionStart",
                    &start_context(&name, parent.as_deref(), branch),
                ))
            }
            "UserPromptSubmit" | "PostToolUse" => {
                self.touch(&caller).await?;
                // Unread messages become context, each handed out once (the cursor moves).
                let unread = self
                    .read_inbox(&caller, ReadArgs::default(), WaitContext::default())
                    .await?
                    .messages;
                Ok(match messages_text(&unread) {
                    Some(text) => context_answer(&event.hook_event_name, &text),
                    None => json!({}),
                })
            }
            "Notification" => {
                self.report_session_status(
                    &caller,
                    ReportArgs {
                        state: "waiting".into(),
                        progress: None,
                        summary: event.message.clone(),
                    },
                )
                .await?;
                Ok(json!({}))
            }
            "Stop" => {
                // An unread task keeps the agent going instead of stopping.
                let tasks = self
                    .read_inbox(
                        &caller,
                        ReadArgs {
                            kinds: Some(vec![MessageKind::Task.as_str().to_string()]),
                            ..ReadArgs::default()
                        },
                        WaitContext::default(),
                    )
                    .await?
                    .messages;
                if let Some(text) = messages_text(&tasks) {
                    return Ok(block_answer(&text));
                }
                // A child that reported done/failed keeps that state when its turn ends: it
                // is what its master (and wait_for_children) go by.
                let finished = self
                    .store()
                    .get_session(&name)
                    .await?
                    .and_then(|e| e.record.status)
                    .is_some_and(|s| s.state.is_final());
                if finished {
                    return Ok(json!({}));
                }
                self.report_session_status(
                    &caller,
                    ReportArgs {
                        state: "idle".into(),
                        ..ReportArgs::default()
                    },
                )
                .await?;
                Ok(json!({}))
            }
            "SessionEnd" => {
                let reason = event.reason.as_deref().unwrap_or("other");
                // Ending first, then the locks: a racing acquire by this session is refused
                // once it has ended.
                let ended = self.end_session(&caller).await;
                let released = self.release_locks_of(&name, 0).await?;
                if !released.is_empty() {
                    tracing::info!(session = %name, ?released, reason, "session end released locks");
                }
                if !event.session_id.is_empty() {
                    self.forget_claude_session(&event.session_id, &name).await;
                }
                ended.map(|_| json!({})).or(Ok(json!({})))
            }
            other => Err(ServiceError::invalid(format!(
                "unknown hook_event_name {other:?}; handled are SessionStart, UserPromptSubmit, \
                 PostToolUse, Notification, Stop and SessionEnd"
            ))),
        }
    }
}

/// The credential a hook event presents.
fn hook_credential(event: &HookEvent) -> Option<&str> {
    event.coord.credential.as_ref().map(|s| s.0.as_str())
}

/// What SessionStart registers: name, parent (`MASTER_SESSION_ID`), task, role, branch,
/// cwd, and the rest as metadata (Claude's id, worktree, tmux pane, host, pid).
pub(super) fn register_request(name: &str, e: &HookEvent) -> RegisterArgs {
    let f = &e.coord;
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let mut meta = serde_json::Map::new();
    meta.insert("claude_session_id".into(), json!(e.session_id));
    for (k, v) in [
        ("worktree", &f.worktree),
        ("tmux_pane", &f.tmux_pane),
        ("host", &f.host),
        ("source", &e.source),
    ] {
        if let Some(v) = nonempty(v) {
            meta.insert(k.into(), json!(v));
        }
    }
    if let Some(pid) = f.claude_pid {
        meta.insert("claude_pid".into(), json!(pid));
    }
    RegisterArgs {
        name: Some(name.to_string()),
        role: nonempty(&f.role),
        task: nonempty(&f.task_id),
        parent: nonempty(&f.master_session_id),
        branch: nonempty(&f.git_branch).filter(|b| b != "HEAD"),
        cwd: e.cwd.clone(),
        metadata: Some(Value::Object(meta)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_coord_session_else_claude_id() {
        let mut e = HookEvent {
            hook_event_name: "SessionStart".into(),
            session_id: "0b6c1e9a-3f1d-4c1e-9a55-1c2d3e4f5a6b".into(),
            ..Default::default()
        };
        assert_eq!(e.session_name().unwrap(), e.session_id);
        e.coord.session = Some("child_web_task_3".into());
        assert_eq!(e.session_name().unwrap(), "child_web_task_3");
        e.coord.session = Some("bad name".into());
        assert!(e.session_name().is_err());
    }
}
