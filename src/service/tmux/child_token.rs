//! A child's own bearer token (issue 16): on a daemon that requires tokens
//! (`auth.required`), a child spawned by `create_session` could not even connect without
//! one. It gets its own in its environment (`MCP_COORD_TOKEN`, which `mcp-config --auth`
//! headers, the hooks and the CLI read): role agent, limited to the child's own session
//! name, so the child can act as itself and as nobody else. The token's label names the
//! child; ending the child (by itself, its parent, an admin or the reaper) revokes it, so a
//! dead child's token opens nothing.

use crate::service::tokens::CreateTokenArgs;
use crate::service::{Coordinator, ServiceError};

/// The label of a child's token: this prefix and the child's session name.
const LABEL_PREFIX: &str = "create_session child ";

impl Coordinator {
    /// A new token for child `name`, when this daemon requires tokens (else `None`).
    pub(super) async fn issue_child_token(
        &self,
        name: &str,
    ) -> Result<Option<String>, ServiceError> {
        if !self.settings().auth.required {
            return Ok(None);
        }
        let made = self
            .create_token(CreateTokenArgs {
                role: "agent".into(),
                sessions: Some(vec![name.to_string()]),
                label: Some(format!("{LABEL_PREFIX}{name}")),
            })
            .await?;
        Ok(Some(made.token))
    }

    /// Revokes the tokens `create_session` gave child `name` (none when tokens are not
    /// required). Called when a session ends; a failure is logged, and the token stays
    /// limited to a name that is no longer active.
    pub(crate) async fn revoke_child_tokens(&self, name: &str) {
        if !self.settings().auth.required {
            return;
        }
        let label = format!("{LABEL_PREFIX}{name}");
        let tokens = match self.store().list_tokens().await {
            Ok(tokens) => tokens,
            Err(e) => {
                tracing::warn!(
                    session = name,
                    "its child token could not be revoked now: {e}"
                );
                return;
            }
        };
        for t in tokens.iter().filter(|t| t.label.as_deref() == Some(&label)) {
            match self.store().revoke_token(&t.id).await {
                Ok(_) => tracing::info!(session = name, token_id = %t.id, "child token revoked"),
                Err(e) => {
                    tracing::warn!(session = name, token_id = %t.id, "child token not revoked: {e}")
                }
            }
        }
    }
}
