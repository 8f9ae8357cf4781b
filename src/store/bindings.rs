//! The hook-binding part of the store trait: Claude Code's session id → the coordination
//! session its hooks registered.
//!
//! `bind_session` (a UserPromptSubmit `mcp_tool` hook) reads it to bind the agent's MCP
//! connection. It lives in the store, not in daemon memory, so that after a daemon restart
//! an agent that reconnects (a fresh `/sse` stream, or a new Streamable-HTTP session after
//! the 404) is bound to the session it had before, not to a new one.

use async_trait::async_trait;

use super::StoreError;

/// Store operations for hook bindings. Each method is one atomic operation.
#[async_trait]
pub trait BindingStore: Send + Sync {
    /// Records that Claude session `claude_id` is coordination session `session`, for
    /// `ttl_ms` (each write renews it; it lapses like an abandoned session).
    async fn put_claude_binding(
        &self,
        claude_id: &str,
        session: &str,
        ttl_ms: u64,
    ) -> Result<(), StoreError>;

    /// The session recorded for `claude_id`, if any (and not lapsed).
    async fn claude_binding(&self, claude_id: &str) -> Result<Option<String>, StoreError>;

    /// Forgets the binding of `claude_id` if it still names `session` (a later SessionStart
    /// that named another session is kept). True when it was removed.
    async fn drop_claude_binding(&self, claude_id: &str, session: &str)
    -> Result<bool, StoreError>;
}
