//! Claude Code session id → coordination session name: which session an agent's MCP
//! connection becomes when `bind_session` (the UserPromptSubmit `mcp_tool` hook) names its
//! Claude id.
//!
//! The hooks write the binding (SessionStart and every later event), `bind_session` reads it,
//! SessionEnd drops it. The id is an alias of the session: `send_message_to_session`
//! accepts it ([`Coordinator::resolve_alias`]). The store holds it ([`crate::store::BindingStore`]), so a restarted
//! daemon still knows it: an agent that reconnects after the restart is bound to the session
//! it had. This daemon remembers what it wrote recently ([`RecentBindings`]), so the hook
//! that runs after every tool call does not write the store each time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Coordinator;
use crate::domain::session_name;

/// Most Claude ids remembered (one per agent session; thousands is plenty for one box).
const MAX_REMEMBERED: usize = 10_000;

/// Bindings this daemon wrote, and when: a binding is written again only when it is new to
/// this daemon, names another session, or was written longer than the refresh interval ago.
#[derive(Debug, Default)]
pub struct RecentBindings {
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    by_id: HashMap<String, (String, Instant)>,
    /// Insertion order, oldest first, to forget the oldest past [`MAX_REMEMBERED`].
    order: VecDeque<String>,
}

impl RecentBindings {
    /// True when `claude_id → name` should be written now (and records it as written).
    pub fn due(&self, claude_id: &str, name: &str, every: Duration) -> bool {
        let mut g = self.inner.lock();
        let fresh = g
            .by_id
            .get(claude_id)
            .is_some_and(|(n, at)| n == name && at.elapsed() < every);
        if fresh {
            return false;
        }
        let known = g
            .by_id
            .insert(claude_id.to_string(), (name.to_string(), Instant::now()))
            .is_some();
        if !known {
            g.order.push_back(claude_id.to_string());
            while g.order.len() > MAX_REMEMBERED {
                if let Some(old) = g.order.pop_front() {
                    g.by_id.remove(&old);
                }
            }
        }
        drop(g);
        true
    }

    /// What this daemon last wrote for `claude_id` (the fallback when the store fails).
    pub fn lookup(&self, claude_id: &str) -> Option<String> {
        self.inner
            .lock()
            .by_id
            .get(claude_id)
            .map(|(name, _)| name.clone())
    }

    pub fn forget(&self, claude_id: &str) {
        let mut g = self.inner.lock();
        if g.by_id.remove(claude_id).is_some() {
            g.order.retain(|id| id != claude_id);
        }
    }
}

/// Answers "is this MCP connection still open?" (no blocking).
pub type IsOpen = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// Which MCP connection of this daemon bound each Claude id with `bind_session`: while it
/// is open, no other connection may bind the same Claude id (issue 16; the Claude id is no
/// secret — it can be a session's name). In memory on purpose: after a restart every
/// connection is new, and the agent's own one binds again with its next prompt.
#[derive(Default)]
pub struct BoundConnections {
    inner: Mutex<HashMap<String, (String, IsOpen)>>,
}

impl std::fmt::Debug for BoundConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoundConnections({})", self.inner.lock().len())
    }
}

impl BoundConnections {
    /// Records `connection` as the one bound to `claude_id`, unless another open connection
    /// is; then returns that one's id.
    pub fn bind(&self, claude_id: &str, connection: &str, is_open: IsOpen) -> Result<(), String> {
        let mut g = self.inner.lock();
        if let Some((other, open)) = g.get(claude_id)
            && other != connection
            && open()
        {
            return Err(other.clone());
        }
        if g.len() >= MAX_REMEMBERED {
            g.retain(|_, (_, open)| open());
        }
        g.insert(claude_id.to_string(), (connection.to_string(), is_open));
        drop(g);
        Ok(())
    }

    /// A (proven) SessionStart of `claude_id`: a new Claude process (a resume, `claude -p`
    /// again) opens a new connection; the old one may linger in the transport without
    /// having closed (no DELETE). The next `bind_session` of that Claude id wins.
    pub fn forget(&self, claude_id: &str) {
        self.inner.lock().remove(claude_id);
    }
}

/// Claude Code processes the hooks reported (`coord.claude_pid`) → their session, so an MCP
/// connection from that process can be bound to it (`mcp/peer_process.rs`). This daemon's
/// memory only: after a restart the agent's next hook event (there is one with every prompt
/// and tool call) tells it again.
#[derive(Debug, Default)]
pub struct ClaudeProcesses {
    inner: Mutex<HashMap<u32, (String, Instant)>>,
}

impl ClaudeProcesses {
    pub fn note(&self, pid: u32, session: &str) {
        let mut g = self.inner.lock();
        if g.len() >= MAX_REMEMBERED && !g.contains_key(&pid) {
            // Forget the one heard from longest ago.
            if let Some(oldest) = g.iter().min_by_key(|(_, (_, at))| *at).map(|(p, _)| *p) {
                g.remove(&oldest);
            }
        }
        g.insert(pid, (session.to_string(), Instant::now()));
    }

    pub fn forget(&self, pid: u32) {
        self.inner.lock().remove(&pid);
    }

    /// Every known process and its session.
    pub fn all(&self) -> Vec<(u32, String)> {
        self.inner
            .lock()
            .iter()
            .map(|(pid, (name, _))| (*pid, name.clone()))
            .collect()
    }
}

impl Coordinator {
    /// How long a binding outlives the last hook event that wrote it: a Claude session
    /// silent that long is abandoned anyway.
    fn binding_ttl(&self) -> Duration {
        Duration::from_secs(self.settings().sessions.stale_seconds.max(1))
    }

    /// Records that Claude session `claude_id` is session `name` (at most once per quarter
    /// of the binding's lifetime unless it changes). A store failure is logged: the hook
    /// goes on, and the next event tries again.
    pub async fn remember_claude_session(&self, claude_id: &str, name: &str) {
        // Claude's ids are UUIDs; anything else never becomes a store key.
        if session_name::validate(claude_id).is_err() {
            tracing::debug!(
                claude_id,
                "hook event with an unusable session_id; not bound"
            );
            return;
        }
        let ttl = self.binding_ttl();
        if !self.recent_bindings().due(claude_id, name, ttl / 4) {
            return;
        }
        let written = self
            .store()
            .put_claude_binding(claude_id, name, ttl.as_millis() as u64)
            .await;
        if let Err(e) = written {
            self.recent_bindings().forget(claude_id);
            tracing::warn!(claude_id, session = name, "hook binding not recorded: {e}");
        }
    }

    /// The session Claude session `claude_id` was registered as, from the store (this
    /// daemon's memory when the store does not answer).
    pub async fn claude_session(&self, claude_id: &str) -> Option<String> {
        session_name::validate(claude_id).ok()?;
        match self.store().claude_binding(claude_id).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(
                    claude_id,
                    "hook binding not readable, using this daemon's: {e}"
                );
                self.recent_bindings().lookup(claude_id)
            }
        }
    }

    /// `name`, or the session it is an alias of: Claude's session id (a UUID) stands for
    /// the session its hooks registered under a readable name. Anything else, or an id
    /// with no binding, is itself.
    pub async fn resolve_alias(&self, name: &str) -> String {
        if uuid::Uuid::try_parse(name).is_err() {
            return name.to_string();
        }
        self.claude_session(name)
            .await
            .unwrap_or_else(|| name.to_string())
    }

    /// SessionEnd: the binding goes with the session (unless it names another one by now).
    pub async fn forget_claude_session(&self, claude_id: &str, name: &str) {
        self.recent_bindings().forget(claude_id);
        if let Err(e) = self.store().drop_claude_binding(claude_id, name).await {
            tracing::debug!(
                claude_id,
                "hook binding not dropped (it lapses by itself): {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_once_per_interval_unless_the_name_changes() {
        let r = RecentBindings::default();
        let every = Duration::from_secs(60);
        assert!(r.due("c1", "a", every));
        assert!(!r.due("c1", "a", every));
        assert!(r.due("c1", "b", every));
        assert!(r.due("c1", "b", Duration::ZERO));
        r.forget("c1");
        assert_eq!(r.lookup("c1"), None);
        assert!(r.due("c1", "b", every));
    }

    #[test]
    fn bounded() {
        let r = RecentBindings::default();
        for i in 0..MAX_REMEMBERED + 5 {
            r.due(&format!("id{i}"), "n", Duration::from_secs(60));
        }
        assert_eq!(r.lookup("id0"), None);
        assert_eq!(
            r.lookup(&format!("id{}", MAX_REMEMBERED + 4)).as_deref(),
            Some("n")
        );
    }
}
