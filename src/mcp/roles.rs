//! Roles on MCP (issue 16 Must 2): the principal of each request (set by `http/auth.rs`),
//! which tools `tools/list` shows it, whether it may call one, and which session names it may
//! act as.

use super::CoordServer;
use crate::domain::auth::{Principal, required_role};
use crate::service::ServiceError;

/// The principal of the request in `parts` (local, no token, when absent).
pub fn principal_of(parts: Option<&http::request::Parts>) -> Principal {
    parts
        .and_then(|p| p.extensions.get::<Principal>())
        .cloned()
        .unwrap_or_else(Principal::local)
}

impl CoordServer {
    /// Ok when `principal` may call `tool` as the session this connection acts as.
    pub(crate) fn check_role(&self, principal: &Principal, tool: &str) -> Result<(), ServiceError> {
        if !principal.may_call(tool) {
            return Err(ServiceError::forbidden(format!(
                "{tool} needs role {} and this token has role {}; ask an admin for a token with that role \
                 (mcp-coord token create --role {})",
                required_role(tool),
                principal.role,
                required_role(tool)
            ))
            .with_details(serde_json::json!({ "needs_role": required_role(tool), "role": principal.role })));
        }
        let session = self.identity().session();
        if self.identity().is_explicit() {
            principal
                .check_session(&session)
                .map_err(ServiceError::forbidden)?;
        }
        Ok(())
    }
}
