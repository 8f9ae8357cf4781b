//! Sessions: registration and binding, the implicit heartbeat, tiers on read, the
//! parent/child tree, status reports, and ending.
//!
//! Writes follow one pattern: read the record, build the new one, write it with the
//! revision that was read; when another write came first the store says `Changed` and we
//! read again (a few times at most: a session is written by itself and rarely by others).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::events::{Event, SEEN_EVERY_MS};
use super::{Caller, Coordinator, ServiceError};
use crate::domain::hierarchy::place;
use crate::domain::session::{
    Role, SessionEntry, SessionRecord, StatusReport, WorkState, check_id, check_text,
    normalize_metadata,
};
use crate::domain::session_name;
use crate::domain::tiers::Tier;
use crate::store::sessions::{EndOutcome, PutOutcome, PutSession, ReportOutcome};

/// Attempts of a read-build-write cycle before giving up (only reached under a storm of
/// writes to one record).
const ATTEMPTS: usize = 8;
/// Status reports shown by `get_session_status`.
const RECENT_REPORTS: usize = 10;

/// What `register_session` asks for; every field optional (seed 001 passed only metadata).
#[derive(Debug, Clone, Default)]
pub struct RegisterRequest {
    pub name: Option<String>,
    pub role: Option<String>,
    pub project: Option<String>,
    pub task: Option<String>,
    pub parent: Option<String>,
    pub branch: Option<String>,
    pub cwd: Option<String>,
    pub metadata: Option<Value>,
}

/// A session as tools show it: the record, its tier computed now, and its reported status.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub name: String,
    /// Same as `name` (seed 003 called it `session_id`).
    pub session_id: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// `active`, `idle`, `stale` or `abandoned`; `null` once ended.
    pub tier: Option<Tier>,
    /// The tier, or `ended` (seed 003's `status`).
    pub status: &'static str,
    /// True when the tier is `active` (seed 003).
    pub is_active: bool,
    pub last_seen_ms: i64,
    pub seconds_since_seen: f64,
    pub registered_at_ms: i64,
    /// `true` when registered with `register_session`, `false` when known only from its
    /// tool calls.
    pub registered: bool,
    pub transport: String,
    /// The last reported work state (`report_session_status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<WorkState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
}

/// The answer of `register_session`.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    #[serde(flatten)]
    pub session: SessionView,
    /// The generated name this connection used before, now ended (its locks with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

/// The answer of `list_sessions` (seed 003's shape).
#[derive(Debug, Clone, Serialize)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    pub total_count: usize,
    pub active_count: usize,
    /// tmux sessions on our socket with no live coordination record (e.g. started by hand,
    /// or whose session ended while the pane lives on).
    pub unmanaged: Vec<crate::tmux::TmuxSession>,
    /// Why `unmanaged` could not be read (tmux missing or failing); absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmux_note: Option<String>,
}

/// The answer of `session_status`: every live session, grouped by tier.
#[derive(Debug, Clone, Serialize)]
pub struct TierGroups {
    pub active: Vec<SessionView>,
    pub idle: Vec<SessionView>,
    pub stale: Vec<SessionView>,
    pub abandoned: Vec<SessionView>,
    pub counts: Value,
    /// Tier boundaries in seconds, so a reader knows what the tiers mean here.
    pub thresholds: Value,
}

/// The answer of `get_session_status`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionView,
    /// Newest first.
    pub recent_reports: Vec<StatusReport>,
    pub children: Vec<String>,
}

/// The answer of `get_child_sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct Children {
    pub parent: String,
    pub children: Vec<SessionView>,
    pub live_count: usize,
    pub max_children: usize,
}

/// The answer of `register_session_relationship`.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    pub master_session: String,
    pub child_session: String,
    pub child: SessionView,
}

/// The answer of `end_session`.
#[derive(Debug, Clone, Serialize)]
pub struct Ended {
    #[serde(flatten)]
    pub session: SessionView,
    /// Locks the session held, released when it ended (waiters are woken).
    pub locks_released: Vec<String>,
}

/// What ending a session did.
#[derive(Debug, Clone)]
pub(crate) struct EndedSession {
    pub entry: SessionEntry,
    pub locks_released: Vec<String>,
}

fn invalid_name(field: &str, name: &str) -> Result<(), ServiceError> {
    session_name::validate(name).map_err(|e| ServiceError::invalid(format!("{field}: {e}")))
}

fn clean(field: &str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        check_text(field, v).map_err(ServiceError::invalid)?;
    }
    Ok(value)
}

fn clean_id(field: &str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        check_id(field, v).map_err(ServiceError::invalid)?;
    }
    Ok(value)
}

fn clean_name(field: &str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        invalid_name(field, v)?;
    }
    Ok(value)
}

fn busy(what: &str, name: &str) -> ServiceError {
    ServiceError::new(
        "conflict",
        format!("{what} {name} kept changing while we wrote it; try again"),
    )
}

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

    /// The implicit heartbeat: every tool call of a connection marks its session active,
    /// registering it the first time (generated names too, so every lock holder has a
    /// record) and reviving it when it had ended.
    pub async fn touch(&self, caller: &Caller) -> Result<(), ServiceError> {
        let (now, previous) = self.store().touch_session(&caller.session).await?;
        match previous {
            Some(prev) => {
                let from = self.tiers().tier_of(now - prev);
                if from == Tier::Active && now / SEEN_EVERY_MS != prev / SEEN_EVERY_MS {
                    self.events().publish(Event::SessionSeen {
                        session: caller.session.clone(),
                        at_ms: now,
                    });
                }
                if from != Tier::Active {
                    tracing::info!(session = %caller.session, %from, "session is active again");
                    self.events().publish(Event::TierChanged {
                        session: caller.session.clone(),
                        from: Some(from),
                        to: Tier::Active,
                        at_ms: now,
                    });
                }
                Ok(())
            }
            None => self.register_implicitly(caller, now).await,
        }
    }

    async fn register_implicitly(&self, caller: &Caller, now: i64) -> Result<(), ServiceError> {
        let name = &caller.session;
        let mut keep_parent = true;
        for _ in 0..ATTEMPTS {
            let existing = self.store().get_session(name).await?;
            if existing.as_ref().is_some_and(|e| e.live) {
                return Ok(());
            }
            let mut record = match &existing {
                Some(e) => {
                    // Coming back after it ended: the same session, registered again.
                    let mut r = e.record.clone();
                    r.ended_at_ms = None;
                    r.end_reason = None;
                    r.status = None;
                    r
                }
                None => {
                    let p = place(name, None, None, None, None).map_err(ServiceError::invalid)?;
                    SessionRecord {
                        project: p.project,
                        task: p.task,
                        parent: p.parent,
                        ..SessionRecord::new(name, p.role, now)
                    }
                }
            };
            if !keep_parent {
                record.parent = None;
            }
            record.connection_id = caller.connection_id.clone();
            record.transport = caller.transport.to_string();
            record.registered_at_ms = now;
            record.last_seen_ms = now;
            record.rev = existing.as_ref().map_or(1, |e| e.record.rev + 1);
            let parent_depth = self.parent_depth(&record.parent).await?;
            record.depth = record
                .parent
                .as_ref()
                .map_or(0, |_| parent_depth.unwrap_or(0) + 1);
            let put = PutSession {
                record: record.clone(),
                expected: existing.map(|e| e.record),
                expected_parent_depth: parent_depth,
                claim: None,
            };
            match self.store().put_session(put).await? {
                PutOutcome::Written(_) => {
                    tracing::info!(session = %name, parent = ?record.parent, "session registered by its first tool call");
                    self.events().publish(Event::registered(&record, true, now));
                    return Ok(());
                }
                PutOutcome::Refused(refusal) => {
                    // A tool call never fails for the tree's limits: register without a parent.
                    tracing::warn!(session = %name, "{}; registered without a parent", refusal.message(name));
                    keep_parent = false;
                }
                PutOutcome::Changed | PutOutcome::Owned { .. } => {}
            }
        }
        Err(busy("session", name))
    }

    async fn parent_depth(&self, parent: &Option<String>) -> Result<Option<u32>, ServiceError> {
        Ok(match parent {
            Some(p) => self.store().get_session(p).await?.map(|e| e.record.depth),
            None => None,
        })
    }

    /// `register_session`: records who the session is and binds it to the calling
    /// connection. `bound` tells whether the connection already acts as a chosen name (URL,
    /// header, an earlier registration): then it cannot switch to another name.
    pub async fn register_session(
        &self,
        caller: &Caller,
        bound: bool,
        req: RegisterRequest,
    ) -> Result<Registered, ServiceError> {
        let name = clean_name("name", req.name)?.unwrap_or_else(|| caller.session.clone());
        let role = req
            .role
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .map(|r| Role::parse(&r))
            .transpose()
            .map_err(ServiceError::invalid)?;
        let project = clean_id("project", req.project)?;
        let task = clean_id("task", req.task)?;
        let parent = clean_name("parent", req.parent)?;
        let branch = clean("branch", req.branch)?;
        let cwd = clean("cwd", req.cwd)?;
        let metadata = normalize_metadata(req.metadata).map_err(ServiceError::invalid)?;
        if bound && name != caller.session {
            return Err(ServiceError::forbidden(format!(
                "this connection is already session {} (one connection acts as one session), so it cannot register as {name}; \
                 call register_session without a name (or with name={}) to update it, or open a new connection for {name}",
                caller.session, caller.session
            ))
            .with_details(json!({ "session": caller.session })));
        }
        if parent.as_deref() == Some(name.as_str()) {
            return Err(ServiceError::invalid(format!(
                "session {name} cannot be its own parent; name another session (or none)"
            )));
        }
        let claim = (name != caller.session).then(|| caller.connection_id.clone());

        for _ in 0..ATTEMPTS {
            let existing = self.store().get_session(&name).await?;
            let now = self.store().now_ms().await?;
            let old = existing.as_ref().map(|e| &e.record);
            let placement = place(
                &name,
                role.or(old.filter(|o| o.registered).map(|o| o.role)),
                project
                    .clone()
                    .or_else(|| old.and_then(|o| o.project.clone())),
                task.clone().or_else(|| old.and_then(|o| o.task.clone())),
                parent
                    .clone()
                    .or_else(|| old.and_then(|o| o.parent.clone())),
            )
            .map_err(ServiceError::invalid)?;
            let live = existing.as_ref().is_some_and(|e| e.live);
            let parent_depth = self.parent_depth(&placement.parent).await?;
            let record = SessionRecord {
                name: name.clone(),
                role: placement.role,
                project: placement.project,
                task: placement.task,
                depth: placement
                    .parent
                    .as_ref()
                    .map_or(0, |_| parent_depth.unwrap_or(0) + 1),
                parent: placement.parent,
                branch: branch
                    .clone()
                    .or_else(|| old.and_then(|o| o.branch.clone())),
                cwd: cwd.clone().or_else(|| old.and_then(|o| o.cwd.clone())),
                metadata: if metadata.is_empty() {
                    old.map(|o| o.metadata.clone()).unwrap_or_default()
                } else {
                    metadata.clone()
                },
                connection_id: caller.connection_id.clone(),
                transport: caller.transport.to_string(),
                registered: true,
                registered_at_ms: match old {
                    Some(o) if live => o.registered_at_ms,
                    _ => now,
                },
                last_seen_ms: now,
                status: old.filter(|_| live).and_then(|o| o.status.clone()),
                ended_at_ms: None,
                end_reason: None,
                rev: old.map_or(1, |o| o.rev + 1),
            };
            let put = PutSession {
                record: record.clone(),
                expected: existing.map(|e| e.record),
                expected_parent_depth: parent_depth,
                claim: claim.clone(),
            };
            match self.store().put_session(put).await? {
                PutOutcome::Written(entry) => {
                    tracing::info!(session = %name, parent = ?record.parent, connection = %caller.connection_id, "session registered");
                    self.events()
                        .publish(Event::registered(&record, false, now));
                    let replaced = if name != caller.session {
                        self.end_replaced(caller, &name).await
                    } else {
                        None
                    };
                    return Ok(Registered {
                        session: self.session_view(&entry, now),
                        replaced,
                    });
                }
                PutOutcome::Owned {
                    connection_id,
                    age_ms,
                } => {
                    let active = self.settings().sessions.active_seconds;
                    return Err(ServiceError::new(
                        "conflict",
                        format!(
                            "session {name} is in use by another connection (tier active, last activity {:.1} s ago); \
                             use another name, or wait until it is idle (no activity for sessions.active_seconds = {active} s), \
                             or call end_session from that connection",
                            age_ms as f64 / 1000.0
                        ),
                    )
                    .with_details(json!({
                        "session": name,
                        "tier": "active",
                        "seconds_since_seen": age_ms as f64 / 1000.0,
                        "other_connection": connection_id,
                    })));
                }
                PutOutcome::Refused(refusal) => {
                    return Err(ServiceError::new(refusal.code(), refusal.message(&name))
                        .with_details(json!({ "session": name })));
                }
                PutOutcome::Changed => {}
            }
        }
        Err(busy("session", &name))
    }

    /// After a connection with a generated name registers a chosen one, its generated
    /// session has no connection left to act for it: end it now rather than let it (and
    /// anything it holds) linger until the reaper.
    async fn end_replaced(&self, caller: &Caller, new_name: &str) -> Option<String> {
        let reason = format!("replaced: its connection registered as {new_name}");
        match self.end_named(&caller.session, &reason, None).await {
            Ok(Some(_)) => Some(caller.session.clone()),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(session = %caller.session, "could not end the replaced session: {e}");
                None
            }
        }
    }

    /// Ends `name` if live (and, with `seen_before`, only if not seen after it), then
    /// releases every lock it held. Returns what was ended, or `None` when there was nothing
    /// to end.
    pub(crate) async fn end_named(
        &self,
        name: &str,
        reason: &str,
        seen_before: Option<i64>,
    ) -> Result<Option<EndedSession>, ServiceError> {
        for _ in 0..ATTEMPTS {
            let Some(entry) = self.store().get_session(name).await? else {
                return Ok(None);
            };
            if !entry.live {
                return Ok(None);
            }
            let now = self.store().now_ms().await?;
            let mut record = entry.record.clone();
            record.ended_at_ms = Some(now);
            record.end_reason = Some(reason.to_string());
            record.last_seen_ms = if seen_before.is_some() {
                entry.last_seen_ms
            } else {
                now
            };
            record.rev += 1;
            match self
                .store()
                .end_session(record, entry.record.rev, seen_before)
                .await?
            {
                EndOutcome::Ended(ended) => {
                    tracing::info!(session = %name, reason, "session ended");
                    // The session is out of the liveness index already, so lock decisions
                    // treat its locks as free; releasing them now also wakes waiters and
                    // keeps `list_locks` honest.
                    let locks_released = match self.release_locks_of(name).await {
                        Ok(released) => released,
                        Err(e) => {
                            tracing::warn!(
                                session = %name,
                                "ended, but its locks could not be released now ({e}); they are free to take and expire by TTL"
                            );
                            Vec::new()
                        }
                    };
                    self.events().publish(Event::SessionEnded {
                        session: name.to_string(),
                        parent: ended.record.parent.clone(),
                        reason: reason.to_string(),
                        at_ms: now,
                    });
                    return Ok(Some(EndedSession {
                        entry: *ended,
                        locks_released,
                    }));
                }
                EndOutcome::NotLive | EndOutcome::NotDue => return Ok(None),
                EndOutcome::Changed => {}
            }
        }
        Err(busy("session", name))
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
        let now = self.store().now_ms().await?;
        let mut entries = self.store().list_sessions(false).await?;
        entries.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        let (mut active, mut idle, mut stale, mut abandoned) = (vec![], vec![], vec![], vec![]);
        for e in &entries {
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
    pub async fn list_sessions(&self, include_ended: bool) -> Result<SessionList, ServiceError> {
        let now = self.store().now_ms().await?;
        let mut entries = self.store().list_sessions(include_ended).await?;
        entries.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        let sessions: Vec<SessionView> =
            entries.iter().map(|e| self.session_view(e, now)).collect();
        let active_count = sessions.iter().filter(|s| s.is_active).count();
        let (unmanaged, tmux_note) = match self.tmux_sessions().await {
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
    pub async fn get_session_status(&self, name: &str) -> Result<SessionDetail, ServiceError> {
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
        parent: Option<String>,
    ) -> Result<Children, ServiceError> {
        let parent = clean_name("parent", parent)?.unwrap_or_else(|| caller.session.clone());
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

    /// `register_session_relationship(master_session, child_session)` (seed 000): makes
    /// `child` a child of `master`. Only one of the two may call it. A child that has not
    /// connected yet is registered on its behalf (owned by nobody until it connects).
    pub async fn relate_sessions(
        &self,
        caller: &Caller,
        master: &str,
        child: &str,
    ) -> Result<Related, ServiceError> {
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
        state: &str,
        progress: Option<i64>,
        summary: Option<String>,
    ) -> Result<SessionView, ServiceError> {
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
                .report_status(record.clone(), entry.record.rev, &report)
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

    /// `end_session()`: ends the caller's session now.
    pub async fn end_session(&self, caller: &Caller) -> Result<Ended, ServiceError> {
        let name = &caller.session;
        match self
            .end_named(name, "ended by the session (end_session)", None)
            .await?
        {
            Some(EndedSession {
                entry,
                locks_released,
            }) => {
                let now = entry.record.ended_at_ms.unwrap_or(entry.last_seen_ms);
                Ok(Ended {
                    session: self.session_view(&entry, now),
                    locks_released,
                })
            }
            None => Err(ServiceError::not_found(format!(
                "session {name} is not live (never registered, or already ended); nothing to end"
            ))),
        }
    }
}
