//! After a store lost its data: the one service function that ends the data-loss hold
//! early (see `store/redis/guard.rs` for the hold itself).
//!
//! It is an admin's decision — it asserts that nobody still works under a lock granted
//! before the loss — so it is its own operation, ready to be put behind the admin role.

use serde::{Deserialize, Serialize};

use super::{Caller, Coordinator, ServiceError};
use crate::store::GrantHold;

/// `resume_grants` takes no arguments: who asks comes from the connection.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeGrantsArgs {}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GrantsResumed {
    /// `true` when a hold was running and is now ended.
    pub resumed: bool,
    /// The hold that was ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_hold: Option<GrantHold>,
    pub message: String,
}

impl Coordinator {
    /// Ends a running data-loss hold: locks are granted again at once, for every daemon on
    /// this store. Logged with who asked.
    pub async fn resume_grants(
        &self,
        caller: &Caller,
        _args: &ResumeGrantsArgs,
    ) -> Result<GrantsResumed, ServiceError> {
        let ended = self.store().resume_grants(&caller.session).await?;
        let entry = super::audit::AuditRecord::of("grants_resumed", super::audit::OK)
            .session(&caller.session);
        self.audit().record(match &ended {
            Some(_) => entry,
            None => entry.detail("no_hold"),
        });
        let message = match &ended {
            Some(hold) => {
                tracing::warn!(
                    "data-loss guard: {} resumed lock grants early (the hold would have run \
                     until store clock {} ms: {})",
                    caller.session,
                    hold.until_ms,
                    hold.reason
                );
                format!(
                    "grants resumed: the hold after the data loss is ended (it would have run \
                     until {}); locks are granted again on every daemon of this store",
                    crate::service::human_time::utc_time(hold.until_ms)
                )
            }
            None => "no hold was running: locks are being granted as usual".to_string(),
        };
        Ok(GrantsResumed {
            resumed: ended.is_some(),
            ended_hold: ended,
            message,
        })
    }
}
