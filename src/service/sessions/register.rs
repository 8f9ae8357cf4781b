//! Registration: `register_session` (a chosen name bound to the calling connection), the
//! implicit registration by a connection's first tool call, and the implicit heartbeat.

use serde_json::{Map, Value, json};

use super::input::{busy, clean, clean_id, clean_name};
use super::{ATTEMPTS, RegisterArgs, Registered};
use crate::domain::hierarchy::place;
use crate::domain::session::{Role, SessionEntry, SessionRecord, normalize_metadata};
use crate::domain::tiers::Tier;
use crate::service::events::{Event, SEEN_EVERY_MS};
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::sessions::{PutOutcome, PutSession};

impl Coordinator {
    /// The implicit heartbeat: every tool call of a connection marks its session active,
    /// registering it the first time (generated names too, so every lock holder has a
    /// record) and reviving it when it had ended.
    pub async fn touch(&self, caller: &Caller) -> Result<(), ServiceError> {
        let (now, previous) = self
            .store()
            .touch_session(&caller.session, &self.session_policy())
            .await?;
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
                policy: self.session_policy(),
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

    pub(super) async fn parent_depth(
        &self,
        parent: &Option<String>,
    ) -> Result<Option<u32>, ServiceError> {
        Ok(match parent {
            Some(p) => self.store().get_session(p).await?.map(|e| e.record.depth),
            None => None,
        })
    }

    /// `register_session`: records who the session is and binds it to the calling
    /// connection. `bound` tells whether the connection already acts as a chosen name (URL,
    /// header, an earlier registration): then it cannot switch to another name.
    ///
    /// Steps: check the request, then read-build-write (merging with what the record held
    /// before) until the store accepts the write or refuses it.
    pub async fn register_session(
        &self,
        caller: &Caller,
        bound: bool,
        req: RegisterArgs,
    ) -> Result<Registered, ServiceError> {
        self.register_checked(caller, bound, req, false).await
    }

    /// The hook's registration of a name it chose for an agent started by hand
    /// (`service::hook_names`): like `register_session` on the caller's own name, but
    /// refused (code `conflict`, see [`is_in_use_elsewhere`]) when another connection holds
    /// the name and is active, so two agents starting at once never share a name.
    pub async fn register_claiming(
        &self,
        caller: &Caller,
        req: RegisterArgs,
    ) -> Result<Registered, ServiceError> {
        self.register_checked(caller, true, req, true).await
    }

    async fn register_checked(
        &self,
        caller: &Caller,
        bound: bool,
        req: RegisterArgs,
        always_claim: bool,
    ) -> Result<Registered, ServiceError> {
        let reg = Registration::check(caller, bound, req)?;
        let name = &reg.name;
        let claim = (always_claim || *name != caller.session).then(|| caller.connection_id.clone());
        for _ in 0..ATTEMPTS {
            let existing = self.store().get_session(name).await?;
            let now = self.store().now_ms().await?;
            let (record, parent_depth) = self
                .registration_record(&reg, caller, existing.as_ref(), now)
                .await?;
            let put = PutSession {
                record: record.clone(),
                expected: existing.map(|e| e.record),
                expected_parent_depth: parent_depth,
                claim: claim.clone(),
                policy: self.session_policy(),
            };
            match self.store().put_session(put).await? {
                PutOutcome::Written(entry) => {
                    tracing::info!(session = %name, parent = ?record.parent, connection = %caller.connection_id, "session registered");
                    self.events()
                        .publish(Event::registered(&record, false, now));
                    let replaced = if *name != caller.session {
                        self.end_replaced(caller, name).await
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
                } => return Err(self.in_use_elsewhere(name, &connection_id, age_ms)),
                PutOutcome::Refused(refusal) => {
                    return Err(ServiceError::new(refusal.code(), refusal.message(name))
                        .with_details(json!({ "session": name })));
                }
                PutOutcome::Changed => {}
            }
        }
        Err(busy("session", name))
    }

    /// The record a registration writes: what the caller asked for, and for everything it
    /// left out, what the existing record held. Returns it with the parent's depth as read
    /// (the store checks it did not change).
    async fn registration_record(
        &self,
        reg: &Registration,
        caller: &Caller,
        existing: Option<&SessionEntry>,
        now: i64,
    ) -> Result<(SessionRecord, Option<u32>), ServiceError> {
        let old = existing.map(|e| &e.record);
        let live = existing.is_some_and(|e| e.live);
        let placement = place(
            &reg.name,
            reg.role.or(old.filter(|o| o.registered).map(|o| o.role)),
            reg.project
                .clone()
                .or_else(|| old.and_then(|o| o.project.clone())),
            reg.task
                .clone()
                .or_else(|| old.and_then(|o| o.task.clone())),
            reg.parent
                .clone()
                .or_else(|| old.and_then(|o| o.parent.clone())),
        )
        .map_err(ServiceError::invalid)?;
        let parent_depth = self.parent_depth(&placement.parent).await?;
        let record = SessionRecord {
            name: reg.name.clone(),
            role: placement.role,
            project: placement.project,
            task: placement.task,
            depth: placement
                .parent
                .as_ref()
                .map_or(0, |_| parent_depth.unwrap_or(0) + 1),
            parent: placement.parent,
            branch: reg
                .branch
                .clone()
                .or_else(|| old.and_then(|o| o.branch.clone())),
            cwd: reg.cwd.clone().or_else(|| old.and_then(|o| o.cwd.clone())),
            metadata: if reg.metadata.is_empty() {
                old.map(|o| o.metadata.clone()).unwrap_or_default()
            } else {
                reg.metadata.clone()
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
        Ok((record, parent_depth))
    }

    /// The refusal when the name is held by another, active connection (see
    /// [`is_in_use_elsewhere`]).
    fn in_use_elsewhere(&self, name: &str, connection_id: &str, age_ms: i64) -> ServiceError {
        let active = self.settings().sessions.active_seconds;
        ServiceError::new(
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
        }))
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
}

/// True for the refusal of a registration whose name another active connection holds.
pub fn is_in_use_elsewhere(e: &ServiceError) -> bool {
    e.code == "conflict" && e.details.get("other_connection").is_some()
}

/// A `register_session` request, checked and cleaned: names valid, empty means absent.
struct Registration {
    name: String,
    role: Option<Role>,
    project: Option<String>,
    task: Option<String>,
    parent: Option<String>,
    branch: Option<String>,
    cwd: Option<String>,
    metadata: Map<String, Value>,
}

impl Registration {
    /// Cleans `req` and refuses what can never succeed: another name on a bound connection,
    /// a session as its own parent.
    fn check(caller: &Caller, bound: bool, req: RegisterArgs) -> Result<Self, ServiceError> {
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
        Ok(Self {
            name,
            role,
            project,
            task,
            parent,
            branch,
            cwd,
            metadata,
        })
    }
}
