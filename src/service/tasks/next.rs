//! `next_task`: one atomic claim of the highest-priority ready task (optionally for a
//! role); when there is none, a sentence saying what the others wait for.

use std::collections::BTreeMap;

use super::{ClaimedLock, NextTask, NextTaskArgs, counts, status_map, view};
use crate::domain::lock_name::LockName;
use crate::domain::session::check_id;
use crate::domain::tasks::{TaskRecord, TaskStatus, role_fits};
use crate::service::events::Event;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::locks::AcquireRequest;
use crate::store::tasks::{ClaimOutcome, ClaimRequest};

/// Most locks one claim may take.
const MAX_CLAIM_LOCKS: usize = 16;

impl Coordinator {
    pub async fn next_task(
        &self,
        caller: &Caller,
        args: NextTaskArgs,
    ) -> Result<NextTask, ServiceError> {
        let project = self.task_project(caller, args.project).await?;
        let role = args
            .role
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if let Some(r) = &role {
            check_id("role", r).map_err(ServiceError::invalid)?;
        }
        let wanted = args.locks.unwrap_or_default();
        if wanted.len() > MAX_CLAIM_LOCKS {
            return Err(ServiceError::invalid(format!(
                "{} locks with one claim; at most {MAX_CLAIM_LOCKS}",
                wanted.len()
            )));
        }
        let mut names: Vec<LockName> = Vec::with_capacity(wanted.len());
        let mut warnings = Vec::new();
        let ttl_ms = if wanted.is_empty() {
            0
        } else {
            self.ttl_ms(args.lock_timeout_seconds, &mut warnings)?
        };
        for w in &wanted {
            let name = self.lock_name(caller, w, None).await?;
            if names.contains(&name) {
                return Err(ServiceError::invalid(format!(
                    "lock {name} is named twice in locks; name each lock once"
                )));
            }
            names.push(name);
        }
        let locks = names
            .iter()
            .map(|name| AcquireRequest {
                name: name.as_str().to_string(),
                ancestors: name.ancestors(),
                descendant_prefix: name.descendant_prefix(),
                session: caller.session.clone(),
                ttl_ms,
                reason: None,
                force: false,
                tiers: self.tiers(),
                lock_delay_ms: self.lock_delay_ms(),
                waiter: None,
            })
            .collect();
        let req = ClaimRequest {
            project: project.clone(),
            session: caller.session.clone(),
            role: role.clone(),
            task_id: None,
            locks,
        };
        match self.store().claim_task(&req).await? {
            ClaimOutcome::Claimed(c) => {
                for (name, g) in names.iter().zip(&c.grants) {
                    self.metrics().lock_granted();
                    self.after_grant(name, g).await;
                }
                let t = &c.task;
                let now = t.state.updated_at_ms;
                self.events().publish(Event::TaskClaimed {
                    project: project.clone(),
                    task: t.spec.id.clone(),
                    title: t.spec.title.clone(),
                    assignee: caller.session.clone(),
                    locks: t.state.locks.clone(),
                    at_ms: now,
                });
                Ok(NextTask {
                    project,
                    task: Some(view(t, &BTreeMap::new(), now)),
                    locks: c
                        .grants
                        .iter()
                        .map(|g| ClaimedLock {
                            lock: g.lock.name.clone(),
                            token: g.lock.token,
                            expires_at_ms: g.lock.expires_at,
                        })
                        .collect(),
                    reason: None,
                    counts: BTreeMap::new(),
                })
            }
            ClaimOutcome::LocksRefused { lock, refusal } => {
                let name = names
                    .iter()
                    .find(|n| n.as_str() == lock)
                    .cloned()
                    .unwrap_or_else(|| names[0].clone());
                let e = self.refusal_error(&name, caller, &refusal, 0, warnings);
                Err(ServiceError::new(
                    e.code,
                    format!(
                        "no task was claimed and no lock taken: the locks come with the task or \
                         not at all. {}",
                        e.message
                    ),
                )
                .with_details(e.details))
            }
            _ => {
                let all = self.store().list_tasks(&project).await?;
                Ok(NextTask {
                    locks: Vec::new(),
                    reason: Some(why_none(&project, &all, role.as_deref())),
                    counts: counts(all.iter()),
                    project,
                    task: None,
                })
            }
        }
    }
}

/// Why nothing could be claimed, with the few facts a model needs to decide what to do.
fn why_none(project: &str, all: &[TaskRecord], role: Option<&str>) -> String {
    if all.is_empty() {
        return format!("project {project} has no tasks; a master creates them with create_tasks");
    }
    let statuses = status_map(all);
    let pending: Vec<&TaskRecord> = all
        .iter()
        .filter(|t| t.state.status == TaskStatus::Pending)
        .collect();
    if pending.is_empty() {
        let open = all
            .iter()
            .filter(|t| !matches!(t.state.status, TaskStatus::Done | TaskStatus::Cancelled))
            .count();
        return if open == 0 {
            format!("every task of project {project} is done or cancelled")
        } else {
            format!(
                "no task of project {project} is pending; {open} are in progress, blocked, in \
                 review, failed or deferred (list_tasks shows who has them). Ask again later"
            )
        };
    }
    let ready_other_roles: Vec<&str> = pending
        .iter()
        .filter(|t| {
            t.state
                .dependencies
                .iter()
                .all(|d| statuses.get(d.as_str()).is_some_and(|s| s.satisfies()))
        })
        .filter(|t| !role_fits(t.state.role.as_deref(), role))
        .filter_map(|t| t.state.role.as_deref())
        .collect();
    if !ready_other_roles.is_empty() {
        let mut roles = ready_other_roles.clone();
        roles.sort();
        roles.dedup();
        return format!(
            "{} ready task(s) are for other roles ({}); none for role {}",
            ready_other_roles.len(),
            roles.join(", "),
            role.unwrap_or("-")
        );
    }
    let waits: Vec<String> = pending
        .iter()
        .take(5)
        .map(|t| {
            let on: Vec<String> = t
                .state
                .dependencies
                .iter()
                .filter_map(|d| {
                    let s = statuses.get(d.as_str())?;
                    (!s.satisfies()).then(|| format!("{d} ({})", s.as_str()))
                })
                .collect();
            format!("{} waits on {}", t.spec.id, on.join(", "))
        })
        .collect();
    format!(
        "no task is ready: {} pending task(s) wait on dependencies ({}{}). Ask again when \
         one is done (update_task(done) tells the master)",
        pending.len(),
        waits.join("; "),
        if pending.len() > 5 { "; …" } else { "" }
    )
}
