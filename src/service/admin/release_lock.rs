//! `admin_release_lock`: an admin frees a lock whoever holds it. One store decision
//! (`force_release`: the holder's note and a lock-delay reserved for nobody, atomically);
//! then the holder is told in its inbox, and the release is published like any other.

use super::{Admin, AdminReleaseLockArgs, ForceReleased};
use crate::service::events::Event;
use crate::service::human_time::utc_time;
use crate::service::locks::{check_reason, taken_over_sentence};
use crate::service::{Coordinator, ServiceError};
use crate::store::locks::{ForceRelease, ForceReleaseOutcome, TakeoverNote};

impl Coordinator {
    pub async fn admin_release_lock(
        &self,
        admin: &Admin,
        args: AdminReleaseLockArgs,
    ) -> Result<ForceReleased, ServiceError> {
        let result = self.force_release_unaudited(admin, &args).await;
        let (lock, holder) = match &result {
            Ok(r) => (r.lock.clone(), r.holder.clone().unwrap_or_default()),
            Err(_) => (args.lock_name.clone(), String::new()),
        };
        self.audit_admin(admin, "admin_release_lock", &holder, Some(&lock), result)
    }

    async fn force_release_unaudited(
        &self,
        admin: &Admin,
        args: &AdminReleaseLockArgs,
    ) -> Result<ForceReleased, ServiceError> {
        admin.check_unlimited("force-releasing a lock")?;
        let name = self
            .lock_name(admin.caller(), &args.lock_name, args.branch.as_deref())
            .await?;
        let reason = check_reason(args.reason.clone())?;
        let req = ForceRelease {
            name: name.as_str().to_string(),
            by: admin.name(),
            lock_delay_ms: self.lock_delay_ms(),
            tiers: self.tiers(),
        };
        match self.store().force_release(&req).await? {
            ForceReleaseOutcome::NotHeld { .. } => Ok(ForceReleased {
                lock: req.name,
                released: false,
                holder: None,
                holder_tier: None,
                token: None,
                lock_delay_until: None,
                holder_told: false,
                message: format!(
                    "{name} was not held (never taken, already released, or expired); nothing to do"
                ),
            }),
            ForceReleaseOutcome::Released {
                from,
                delay_until,
                now_ms,
            } => {
                let holder = from.lock.holder.clone();
                self.events().publish(Event::LockReleased {
                    lock: req.name.clone(),
                    holder: holder.clone(),
                    at_ms: now_ms,
                    lock_delay_until: delay_until,
                    forced_by: Some(req.by.clone()),
                });
                let note = TakeoverNote {
                    lock: req.name.clone(),
                    by: req.by.clone(),
                    at: now_ms,
                    old_token: from.lock.token,
                    your_tier: from.tier,
                    forced: true,
                };
                let mut body = taken_over_sentence(&name, &note, now_ms);
                if let Some(r) = &reason {
                    body.push_str(&format!(". Reason: {r}"));
                }
                let holder_told = match self.send_system_message(&holder, body).await {
                    Ok(told) => told,
                    Err(e) => {
                        tracing::debug!(%holder, "force-release notice not delivered: {e}");
                        false
                    }
                };
                tracing::warn!(lock = %name, %holder, by = %req.by, "lock force-released by an admin");
                let delay = match delay_until {
                    Some(until) => format!(
                        "; nobody is granted it before {} (lock-delay), then its waiters in order",
                        utc_time(until)
                    ),
                    None => String::new(),
                };
                let told = if holder_told {
                    "told in its inbox"
                } else {
                    "not told: not a live session"
                };
                Ok(ForceReleased {
                    message: format!(
                        "released {name} (token {}) held by {holder} ({told}){delay}",
                        from.lock.token
                    ),
                    lock: req.name,
                    released: true,
                    holder: Some(holder),
                    holder_tier: from.tier,
                    token: Some(from.lock.token),
                    lock_delay_until: delay_until,
                    holder_told,
                })
            }
        }
    }
}
