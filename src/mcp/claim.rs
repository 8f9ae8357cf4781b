//! The claim check of an MCP connection (issue 16): before its first tool call as a session
//! (and again whenever it acts as another one), the connection must be allowed to act as it
//! — see [`crate::service::claims`]. The proof is remembered on the connection, so the check
//! costs store calls once per connection and name, not per call.

use super::CoordServer;
use crate::service::ServiceError;

/// Tools that run without the check: `bind_session` changes which session the connection is
/// (and proves it its own way); `health_check` acts as nobody and must answer while the
/// store is down. (An unproven connection's call is no heartbeat of the session it names.)
pub const UNCHECKED: &[&str] = &["bind_session", "health_check"];

impl CoordServer {
    /// Ok when this connection may act as the session it is bound to now.
    pub(crate) async fn check_claim(
        &self,
        parts: Option<&http::request::Parts>,
    ) -> Result<(), ServiceError> {
        let identity = self.identity();
        let caller = self.caller();
        // A generated name is this connection's alone (nobody else was given it).
        if !identity.is_explicit() || identity.is_proven(&caller.session) {
            return Ok(());
        }
        let presented = identity.presented_credential(parts);
        let claimed = self
            .coord()
            .claim_session(&caller, presented.as_deref())
            .await?;
        tracing::debug!(session = %caller.session, connection = %caller.connection_id, how = ?claimed.how, "connection may act as its session");
        // A credential issued here has no one to go to (a model must never see it): the
        // connection's proof lives in memory; other front-ends of this session present theirs.
        identity.set_proven(&caller.session);
        Ok(())
    }
}
