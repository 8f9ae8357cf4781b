//! Which events are audit entries, and what of them is kept: names, kinds and times only
//! (a status report's state but not its summary, a message's kind but not its body, a
//! grant without its reason text).

use super::{AuditRecord, OK};
use crate::service::events::Event;

/// The audit entry for `event`, or `None` for events that are not state changes worth
/// keeping (`session_seen` heartbeats; joining and leaving a lock's queue, whose end is
/// either a grant or a `lock_refused` entry).
pub(super) fn record(event: &Event) -> Option<AuditRecord> {
    let kind = event.kind();
    let entry = AuditRecord::of(kind, OK);
    Some(match event {
        Event::SessionSeen { .. } | Event::LockQueued { .. } | Event::LockQueueLeft { .. } => {
            return None;
        }
        Event::SessionRegistered {
            session,
            parent,
            implicit,
            at_ms,
            ..
        } => {
            let e = entry.session(session).at(*at_ms);
            let e = if *implicit { e.detail("implicit") } else { e };
            match parent {
                Some(p) => e.target(p),
                None => e,
            }
        }
        Event::TierChanged {
            session, to, at_ms, ..
        } => entry.session(session).detail(to.as_str()).at(*at_ms),
        Event::StatusReported {
            session,
            parent,
            report,
        } => {
            let state = serde_json::to_value(report.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let e = entry.session(session).detail(state).at(report.at_ms);
            match parent {
                Some(p) => e.target(p),
                None => e,
            }
        }
        Event::SessionEnded {
            session,
            parent,
            reason,
            at_ms,
        } => {
            let e = entry.session(session).detail(reason).at(*at_ms);
            match parent {
                Some(p) => e.target(p),
                None => e,
            }
        }
        Event::LockGranted {
            lock,
            holder,
            at_ms,
            ..
        }
        | Event::LockExtended {
            lock,
            holder,
            at_ms,
            ..
        }
        | Event::LockReleased {
            lock,
            holder,
            at_ms,
            ..
        } => entry.session(holder).lock(lock).at(*at_ms),
        Event::LockTakenOver {
            lock,
            holder,
            from,
            at_ms,
            ..
        } => entry.session(holder).lock(lock).target(from).at(*at_ms),
        Event::MessageSent {
            from,
            to,
            kind,
            at_ms,
            ..
        } => entry
            .session(from)
            .target(to)
            .detail(kind.as_str())
            .at(*at_ms),
        // Tasks: who, which task (`project:id`), the new status; never titles or notes.
        Event::TaskCreated {
            project,
            batch,
            ids,
            by,
            at_ms,
            ..
        } => entry
            .session(by)
            .target(format!("{project}:{batch}"))
            .detail(format!("{} tasks", ids.len()))
            .at(*at_ms),
        Event::TaskClaimed {
            project,
            task,
            assignee,
            at_ms,
            ..
        } => entry
            .session(assignee)
            .target(format!("{project}:{task}"))
            .at(*at_ms),
        Event::TaskUpdated {
            project,
            task,
            status,
            by,
            at_ms,
            ..
        } => entry
            .session(by)
            .target(format!("{project}:{task}"))
            .detail(status.as_str())
            .at(*at_ms),
        Event::TaskReleased {
            project,
            task,
            from,
            at_ms,
            ..
        } => entry
            .session(from)
            .target(format!("{project}:{task}"))
            .at(*at_ms),
    })
}
