//! Reading sessions: the view of a record with its tier computed now, the listings
//! (`session_status`, `list_sessions`), one session's detail and a parent's children.

use serde_json::json;

use super::input::{clean_name, invalid_name};
use super::{
    Children, ChildrenArgs, ListSessionsArgs, RECENT_REPORTS, SessionArgs, SessionDetail,
    SessionList, SessionView, TierGroups,
};
use crate::domain::session::SessionEntry;
use crate::domain::tiers::Tier;
use crate::service::{Caller, Coordinator, ServiceError};

impl Coordinator {
    /// How often one connection's tool calls write its heartbeat: at most once a second,
    /// and often enough that the tier stays exact to a tenth of the active threshold.
    pub fn heartbeat_debounce(&self) -> std::time::Duration {
        let active_ms = self.tiers().active_ms.max(0) as u64;
        std::time::Duration::from_millis((active_ms / 10).min(1000))
    }

    /// The view of a stored session, with its tier as of `now`.
    pub fn session_view(&self, e: &SessionEntry, now: i64) -> SessionView {
        let r = &e.record;
        let age = now - e.last_seen_ms;
        let tier = e.live.then(|| self.tiers().tier_of(age));
        SessionView {
            name: r.name.clone(),
            session_id: r.name.clone(),
            role: r.role,
            project: r.project.clone(),
            task: r.task.clone(),
            parent: r.parent.clone(),
            depth: r.depth,
            branch: r.branch.clone(),
            cwd: r.cwd.clone(),
            metadata: r.metadata.clone(),
            tier,
            status: tier.map_or("ended", Tier::as_str),
            is_active: tier == Some(Tier::Active),
            last_seen_ms: e.last_seen_ms,
            seconds_since_seen: (age.max(0) as f64) / 1000.0,
            registered_at_ms: r.registered_at_ms,
            registered: r.registered,
            transport: r.transport.clone(),
            state: r.status.as_ref().map(|s| s.state),
            progress: r.status.as_ref().and_then(|s| s.progress),
            summary: r.status.as_ref().and_then(|s| s.summary.clone()),
            state_at_ms: r.status.as_ref().map(|s| s.at_ms),
            ended_at_ms: r.ended_at_ms,
            end_reason: r.end_reason.clone(),
        }
    }

    /// `heartbeat()`: marks the caller active now (every tool call does this anyway) and
    /// returns its session.
    pub async fn heartbeat(&self, caller: &Caller) -> Result<SessionView, ServiceError> {
        self.touch(caller).await?;
        self.session_of(&caller.session).await
    }

    async fn session_of(&self, name: &str) -> Result<SessionView, ServiceError> {
        let now = self.store().now_ms().await?;
        match self.store().get_session(name).await? {
            Some(e) => Ok(self.session_view(&e, now)),
            None => Err(ServiceError::not_found(format!(
                "no session named {name}; list_sessions shows the known ones (ended ones with include_ended=true)"
            ))),
        }
    }

    /// `session_status()`: every live session grouped by tier.
    pub async fn session_status(&self) -> Result<TierGroups, ServiceError> {
        let (now, entries) =
            tokio::try_join!(self.store().now_ms(), self.store().list_sessions(false))?;
        let (mut active, mut idle, mut stale, mut abandoned) = (vec![], vec![], vec![], vec![]);
        for e in by_name(&entries) {
            let v = self.session_view(e, now);
            match v.tier {
                Some(Tier::Active) => active.push(v),
                Some(Tier::Idle) => idle.push(v),
                Some(Tier::Stale) => stale.push(v),
                Some(Tier::Abandoned) => abandoned.push(v),
                None => {}
            }
        }
        let s = &self.settings().sessions;
        Ok(TierGroups {
            counts: json!({
                "active": active.len(), "idle": idle.len(),
                "stale": stale.len(), "abandoned": abandoned.len(),
            }),
            thresholds: json!({
                "active_below_seconds": s.active_seconds,
                "idle_below_seconds": s.idle_seconds,
                "stale_below_seconds": s.stale_seconds,
            }),
            active,
            idle,
            stale,
            abandoned,
        })
    }

    /// `list_sessions(include_ended)`.
    pub async fn list_sessions(
        &self,
        args: &ListSessionsArgs,
    ) -> Result<SessionList, ServiceError> {
        // tmux runs as its own processes: ask it while the store answers.
        // The clock and the listing are independent reads: one round trip, not two.
        let (stored, tmux) = tokio::join!(
            async {
                tokio::try_join!(
                    self.store().now_ms(),
                    self.store().list_sessions(args.include_ended)
                )
            },
            self.tmux_sessions()
        );
        let (now, entries) = stored?;
        let sessions: Vec<SessionView> = by_name(&entries)
            .into_iter()
            .map(|e| self.session_view(e, now))
            .collect();
        let active_count = sessions.iter().filter(|s| s.is_active).count();
        let (unmanaged, tmux_note) = match tmux {
            Ok(all) => {
                let managed: std::collections::HashSet<&str> = entries
                    .iter()
                    .filter(|e| e.live)
                    .map(|e| e.record.name.as_str())
                    .collect();
                let unmanaged = all
                    .into_iter()
                    .filter(|t| !managed.contains(t.name.as_str()))
                    .collect();
                (unmanaged, None)
            }
            Err(e) => (Vec::new(), Some(e.message)),
        };
        Ok(SessionList {
            total_count: sessions.len(),
            active_count,
            sessions,
            unmanaged,
            tmux_note,
        })
    }

    /// `get_session_status(session)`: one session with its recent reports and children.
    pub async fn get_session_status(
        &self,
        args: &SessionArgs,
    ) -> Result<SessionDetail, ServiceError> {
        let name = args.session.as_str();
        invalid_name("session", name)?;
        let session = self.session_of(name).await?;
        let recent_reports = self.store().status_history(name, RECENT_REPORTS).await?;
        let children = self
            .store()
            .child_sessions(name)
            .await?
            .into_iter()
            .map(|e| e.record.name)
            .collect();
        Ok(SessionDetail {
            session,
            recent_reports,
            children,
        })
    }

    /// `get_child_sessions(parent?)`: the children of `parent` (default: the caller) with
    /// tier, state, progress, summary and last activity.
    pub async fn child_sessions(
        &self,
        caller: &Caller,
        args: ChildrenArgs,
    ) -> Result<Children, ServiceError> {
        let parent = clean_name("parent", args.parent)?.unwrap_or_else(|| caller.session.clone());
        let now = self.store().now_ms().await?;
        let children: Vec<SessionView> = self
            .store()
            .child_sessions(&parent)
            .await?
            .iter()
            .map(|e| self.session_view(e, now))
            .collect();
        Ok(Children {
            parent,
            live_count: children.iter().filter(|c| c.tier.is_some()).count(),
            max_children: self.settings().sessions.max_children,
            children,
        })
    }
}

/// `entries` in name order, sorted by reference: an entry is a few hundred bytes, and moving
/// 1,000 of them was a visible share of a large listing (issue 18).
fn by_name(entries: &[SessionEntry]) -> Vec<&SessionEntry> {
    let mut sorted: Vec<&SessionEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.record.name.cmp(&b.record.name));
    sorted
}
