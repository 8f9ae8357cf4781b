//! `admin_end_session`: an admin ends any live session through the one ending path
//! (`end_named_with_delay`: its locks released, its tasks handed back, `session_ended`
//! published), with a lock-delay on its locks, and tells it first.

use super::{Admin, AdminEndSessionArgs, AdminEnded};
use crate::domain::session_name;
use crate::service::human_time::utc_time;
use crate::service::locks::check_reason;
use crate::service::{Coordinator, ServiceError};

impl Coordinator {
    pub async fn admin_end_session(
        &self,
        admin: &Admin,
        args: AdminEndSessionArgs,
    ) -> Result<AdminEnded, ServiceError> {
        let result = self.admin_end_unaudited(admin, &args).await;
        self.audit_admin(admin, "admin_end_session", &args.session, None, result)
    }

    async fn admin_end_unaudited(
        &self,
        admin: &Admin,
        args: &AdminEndSessionArgs,
    ) -> Result<AdminEnded, ServiceError> {
        let name = args.session.as_str();
        session_name::validate(name).map_err(ServiceError::invalid)?;
        admin.check_target(name)?;
        let reason = check_reason(args.reason.clone())?;
        let not_live = || AdminEnded {
            session: name.to_string(),
            ended: false,
            locks_released: Vec::new(),
            lock_delay_until: None,
            session_told: false,
            message: format!(
                "session {name} is not live (never registered, or already ended); nothing to end"
            ),
        };
        if !self
            .store()
            .get_session(name)
            .await?
            .is_some_and(|entry| entry.live)
        {
            return Ok(not_live());
        }
        let mut notice = format!(
            "your session {name} was ended by {}: your locks are released and your claimed \
             tasks handed back; stop work that relied on them",
            admin.name()
        );
        if let Some(r) = &reason {
            notice.push_str(&format!(". Reason: {r}"));
        }
        let session_told = self
            .send_system_message(name, notice)
            .await
            .unwrap_or(false);
        let delay_ms = self.lock_delay_ms();
        let Some(ended) = self
            .end_named_with_delay(
                name,
                "ended by an admin (admin_end_session)",
                None,
                delay_ms,
            )
            .await?
        else {
            return Ok(not_live());
        };
        tracing::warn!(session = name, by = %admin.name(), "session ended by an admin");
        let ended_at = ended.entry.record.ended_at_ms.unwrap_or_default();
        let lock_delay_until =
            (delay_ms > 0 && !ended.locks_released.is_empty()).then_some(ended_at + delay_ms);
        let locks = match (ended.locks_released.len(), lock_delay_until) {
            (0, _) => "it held no locks".to_string(),
            (n, Some(until)) => format!(
                "{n} lock(s) released ({}), granted to nobody before {} (lock-delay)",
                ended.locks_released.join(", "),
                utc_time(until)
            ),
            (n, None) => format!("{n} lock(s) released ({})", ended.locks_released.join(", ")),
        };
        Ok(AdminEnded {
            session: name.to_string(),
            ended: true,
            message: format!(
                "ended {name}: {locks}; {}",
                if session_told {
                    "it was told in its inbox"
                } else {
                    "the notice did not reach its inbox"
                }
            ),
            locks_released: ended.locks_released,
            lock_delay_until,
            session_told,
        })
    }
}
