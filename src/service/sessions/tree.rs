//! The session tree and what flows up it: `register_session_relationship` links a child to
//! its master, `report_session_status` stores a report and tells the parent.

use super::input::{busy, invalid_name};
use super::{ATTEMPTS, Related, RelationshipArgs, ReportArgs, SessionView};
use crate::domain::hierarchy::place;
use crate::domain::session::{Role, SessionRecord, StatusReport};
use crate::service::events::Event;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::sessions::{PutOutcome, PutSession, ReportOutcome, StatusWrite};

impl Coordinator {
    /// `register_session_relationship(master_session, child_session)` (seed 000): makes
    /// `child` a child of `master`. Only one of the two may call it. A child that has not
    /// connected yet is registered on its behalf (owned by nobody until it connects).
    pub async fn relate_sessions(
        &self,
        caller: &Caller,
        args: &RelationshipArgs,
    ) -> Result<Related, ServiceError> {
        let (master, child) = (args.master_session.as_str(), args.child_session.as_str());
        invalid_name("master_session", master)?;
        invalid_name("child_session", child)?;
        if master == child {
            return Err(ServiceError::invalid(format!(
                "master_session and child_session are both {master}; a session cannot be its own parent"
            )));
        }
        if caller.session != master && caller.session != child {
            return Err(ServiceError::forbidden(format!(
                "you are {}; only {master} or {child} may link them; call it from one of those sessions",
                caller.session
            )));
        }
        for _ in 0..ATTEMPTS {
            let existing = self.store().get_session(child).await?;
            let now = self.store().now_ms().await?;
            let parent_depth = self.parent_depth(&Some(master.to_string())).await?;
            let live = existing.as_ref().is_some_and(|e| e.live);
            let mut record = match existing.as_ref().filter(|_| live) {
                Some(e) => e.record.clone(),
                None => {
                    let p = place(child, None, None, None, None).map_err(ServiceError::invalid)?;
                    SessionRecord {
                        project: p.project,
                        task: p.task,
                        ..SessionRecord::new(child, p.role, now)
                    }
                }
            };
            record.parent = Some(master.to_string());
            if record.role == Role::Agent {
                record.role = Role::Child;
            }
            record.depth = parent_depth.unwrap_or(0) + 1;
            record.rev = existing.as_ref().map_or(1, |e| e.record.rev + 1);
            let put = PutSession {
                record,
                expected: existing.map(|e| e.record),
                expected_parent_depth: parent_depth,
                claim: None,
                policy: self.session_policy(),
            };
            match self.store().put_session(put).await? {
                PutOutcome::Written(entry) => {
                    tracing::info!(master, child, "sessions related");
                    let implicit = !entry.record.registered;
                    self.events()
                        .publish(Event::registered(&entry.record, implicit, now));
                    return Ok(Related {
                        master_session: master.to_string(),
                        child_session: child.to_string(),
                        child: self.session_view(&entry, now),
                    });
                }
                PutOutcome::Refused(refusal) => {
                    return Err(ServiceError::new(refusal.code(), refusal.message(child)));
                }
                PutOutcome::Changed | PutOutcome::Owned { .. } => {}
            }
        }
        Err(busy("session", child))
    }

    /// `report_session_status(state, progress?, summary?)`: stores the caller's status,
    /// appends it to the capped history and tells the parent (a `status` message in its
    /// inbox, and an event).
    pub async fn report_session_status(
        &self,
        caller: &Caller,
        args: ReportArgs,
    ) -> Result<SessionView, ServiceError> {
        let ReportArgs {
            state,
            progress,
            summary,
        } = args;
        let state = state.as_str();
        StatusReport::build(state, progress, summary.clone(), 0).map_err(ServiceError::invalid)?;
        let name = &caller.session;
        for _ in 0..ATTEMPTS {
            let now = self.store().now_ms().await?;
            let report = StatusReport::build(state, progress, summary.clone(), now)
                .map_err(ServiceError::invalid)?;
            let entry = match self.store().get_session(name).await? {
                Some(e) if e.live => e,
                _ => {
                    return Err(ServiceError::not_found(format!(
                        "session {name} is not registered (or has ended); call register_session, then report again"
                    )));
                }
            };
            let mut record = entry.record.clone();
            record.status = Some(report.clone());
            record.last_seen_ms = now;
            record.rev += 1;
            match self
                .store()
                .report_status(StatusWrite {
                    record: record.clone(),
                    expected_rev: entry.record.rev,
                    report: report.clone(),
                    policy: self.session_policy(),
                })
                .await?
            {
                ReportOutcome::Stored(stored) => {
                    // The parent hears it in its inbox (a `status` message, `final` for
                    // done/failed), in this same request; a parent that ended gets nothing.
                    if let Some(parent) = &record.parent
                        && let Err(e) = self.route_status(name, parent, &report).await
                    {
                        tracing::warn!(session = %name, %parent, "status not delivered to the parent: {e}");
                    }
                    self.events().publish(Event::StatusReported {
                        session: name.clone(),
                        parent: record.parent.clone(),
                        report,
                    });
                    return Ok(self.session_view(&stored, now));
                }
                ReportOutcome::NotLive => {
                    return Err(ServiceError::not_found(format!(
                        "session {name} has ended; call register_session, then report again"
                    )));
                }
                ReportOutcome::Changed => {}
            }
        }
        Err(busy("session", name))
    }
}
