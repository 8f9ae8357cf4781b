//! Embedded implementation of [`TaskStore`](crate::store::tasks::TaskStore): the twin of
//! `scripts/task_*.lua`, each decision in one critical section (table `tasks`, one row per
//! task keyed by project and id; `value` = `{spec, state}`).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::table::{Table, TableRef};
use super::{MemoryStore, State, wall_clock_ms};
use crate::domain::tasks::{TaskNote, TaskRecord, TaskState, TaskStatus, role_fits};
use crate::store::StoreError;
use crate::store::locks::AcquireOutcome;
use crate::store::tasks::{
    ClaimOutcome, ClaimRequest, Claimed, CreateOutcome, CreateRefusal, CreateTasks, HandBack,
    TaskStore, UpdateOutcome, UpdateTask, Waiting, claim_order, is_active, may_update,
};

/// The tasks part of the embedded state.
#[derive(Debug, Default)]
pub struct TaskTables {
    /// (project, task id) → the task.
    pub tasks: Table<(String, String), TaskRecord>,
}

impl TaskTables {
    pub(super) fn tables(&mut self) -> Vec<TableRef<'_>> {
        vec![TableRef::new("tasks", &["project", "id"], &mut self.tasks)]
    }

    fn project(&self, project: &str) -> impl Iterator<Item = (&String, &TaskRecord)> {
        self.tasks
            .range((project.to_string(), String::new())..)
            .take_while(move |((p, _), _)| p == project)
            .map(|((_, id), t)| (id, t))
    }

    fn get(&self, project: &str, id: &str) -> Option<&TaskRecord> {
        self.tasks.get(&(project.to_string(), id.to_string()))
    }

    /// Dependencies of `state` that are not done.
    fn waiting_on(&self, project: &str, state: &TaskState) -> Vec<Waiting> {
        state
            .dependencies
            .iter()
            .filter_map(|d| {
                let status = self.get(project, d).map(|t| t.state.status)?;
                (!status.satisfies()).then(|| Waiting {
                    id: d.clone(),
                    status,
                })
            })
            .collect()
    }

    fn is_ready(&self, project: &str, state: &TaskState) -> bool {
        state.status == TaskStatus::Pending && self.waiting_on(project, state).is_empty()
    }

    fn create(&mut self, req: &CreateTasks, now: i64) -> CreateOutcome {
        let existing = self.project(&req.project).count();
        if existing + req.tasks.len() > req.max_per_project {
            return CreateOutcome::Refused(CreateRefusal::ProjectFull {
                existing,
                limit: req.max_per_project,
            });
        }
        let in_batch: BTreeMap<&str, TaskStatus> = req
            .tasks
            .iter()
            .map(|t| (t.id.as_str(), t.status))
            .collect();
        for t in &req.tasks {
            if self.get(&req.project, &t.id).is_some() {
                return CreateOutcome::Refused(CreateRefusal::DuplicateId { id: t.id.clone() });
            }
        }
        for t in &req.tasks {
            for d in &t.dependencies {
                if !in_batch.contains_key(d.as_str()) && self.get(&req.project, d).is_none() {
                    return CreateOutcome::Refused(CreateRefusal::UnknownDependency {
                        task: t.id.clone(),
                        dependency: d.clone(),
                    });
                }
            }
        }
        let mut made: Vec<TaskRecord> = req
            .tasks
            .iter()
            .enumerate()
            .map(|(i, spec)| TaskRecord {
                state: TaskState::new(
                    spec,
                    (existing + i + 1) as u64,
                    &req.batch,
                    &req.created_by,
                    now,
                ),
                spec: spec.clone(),
            })
            .collect();
        // Dependents, within the batch and on earlier tasks.
        let mut dependents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in &req.tasks {
            for d in &t.dependencies {
                dependents.entry(d.clone()).or_default().push(t.id.clone());
            }
        }
        for t in made.iter_mut() {
            if let Some(list) = dependents.remove(&t.spec.id) {
                t.state.dependents = list;
            }
        }
        for (dep, list) in dependents {
            let key = (req.project.clone(), dep);
            if let Some(rec) = self.tasks.get_mut(&key) {
                rec.state.dependents.extend(list);
            }
        }
        for t in &made {
            self.tasks
                .insert((req.project.clone(), t.spec.id.clone()), t.clone());
        }
        CreateOutcome::Created(made)
    }

    /// The task a claim would take (nothing changes), or why there is none.
    fn pick(&self, req: &ClaimRequest) -> Result<String, ClaimOutcome> {
        let project = req.project.as_str();
        match &req.task_id {
            Some(id) => {
                let Some(t) = self.get(project, id) else {
                    return Err(ClaimOutcome::NotFound);
                };
                if t.state.status != TaskStatus::Pending {
                    return Err(ClaimOutcome::NotPending {
                        status: t.state.status,
                        assignee: t.state.assignee.clone(),
                    });
                }
                let waiting_on = self.waiting_on(project, &t.state);
                if !waiting_on.is_empty() {
                    return Err(ClaimOutcome::NotReady { waiting_on });
                }
                Ok(id.clone())
            }
            None => self
                .project(project)
                .filter(|(_, t)| role_fits(t.state.role.as_deref(), req.role.as_deref()))
                .filter(|(_, t)| self.is_ready(project, &t.state))
                .min_by_key(|(id, t)| (claim_order(&t.state), (*id).clone()))
                .map(|(id, _)| id.clone())
                .ok_or(ClaimOutcome::NothingReady),
        }
    }

    /// Makes task `id` in-progress for `session`, recording the locks taken with it.
    fn take(
        &mut self,
        project: &str,
        id: String,
        session: &str,
        locks: Vec<String>,
        now: i64,
    ) -> Option<TaskRecord> {
        let t = self.tasks.get_mut(&(project.to_string(), id))?;
        t.state.status = TaskStatus::InProgress;
        t.state.assignee = Some(session.to_string());
        t.state.claimed_at_ms = Some(now);
        t.state.progress = None;
        t.state.locks = locks;
        t.state.updated_at_ms = now;
        Some(t.clone())
    }

    fn update(&mut self, req: &UpdateTask, now: i64) -> UpdateOutcome {
        let project = req.project.as_str();
        let Some(current) = self.get(project, &req.task_id) else {
            return UpdateOutcome::NotFound;
        };
        if !may_update(&current.state, &req.session) {
            return UpdateOutcome::NotYours {
                assignee: current.state.assignee.clone().unwrap_or_default(),
            };
        }
        let mut state = current.state.clone();
        let previous;
        let mut unblocked = Vec::new();
        if let Some(sub) = &req.subtask {
            let Some(s) = state.subtasks.get_mut(sub) else {
                return UpdateOutcome::NoSubtask;
            };
            previous = *s;
            if let Some(status) = req.status {
                *s = status;
            }
        } else {
            previous = state.status;
            if let Some(status) = req.status {
                // Starting, handing in or finishing a task needs its dependencies done.
                if status.needs_dependencies_done() && previous != status {
                    let waiting = self.waiting_on(project, &state);
                    if !waiting.is_empty() {
                        return UpdateOutcome::WaitingOn(waiting);
                    }
                }
                if status == TaskStatus::InProgress
                    && previous != TaskStatus::InProgress
                    && state.assignee.is_none()
                {
                    state.assignee = Some(req.session.clone());
                    state.claimed_at_ms = Some(now);
                }
                if status == TaskStatus::Pending {
                    state.assignee = None;
                    state.claimed_at_ms = None;
                    state.progress = None;
                }
                state.status = status;
            }
        }
        if let Some(p) = req.progress {
            state.progress = Some(p.min(100));
        }
        if let Some(text) = &req.note {
            state.notes.push(TaskNote {
                at_ms: now,
                by: req.session.clone(),
                text: text.clone(),
            });
            let extra = state.notes.len().saturating_sub(req.notes_kept);
            state.notes.drain(..extra);
        }
        state.updated_at_ms = now;
        let became_done = req.subtask.is_none()
            && state.status == TaskStatus::Done
            && previous != TaskStatus::Done;
        let key = (project.to_string(), req.task_id.clone());
        let Some(rec) = self.tasks.get_mut(&key) else {
            return UpdateOutcome::NotFound;
        };
        rec.state = state;
        let task = Box::new(rec.clone());
        if became_done {
            for d in &task.state.dependents {
                if let Some(dep) = self.get(project, d)
                    && self.is_ready(project, &dep.state)
                {
                    unblocked.push(d.clone());
                }
            }
        }
        UpdateOutcome::Updated {
            task,
            previous,
            unblocked,
        }
    }
}

impl TaskTables {
    fn release_of(
        &mut self,
        session: &str,
        note: TaskNote,
        kept: usize,
    ) -> Vec<(String, TaskRecord)> {
        let held: Vec<(String, String)> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                t.state.assignee.as_deref() == Some(session) && is_active(t.state.status)
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for key in held {
            if let Some(t) = self.tasks.get_mut(&key) {
                let s = &mut t.state;
                s.status = TaskStatus::Pending;
                s.assignee = None;
                s.claimed_at_ms = None;
                s.progress = None;
                s.updated_at_ms = note.at_ms;
                s.notes.push(note.clone());
                let extra = s.notes.len().saturating_sub(kept);
                s.notes.drain(..extra);
                out.push((key.0.clone(), t.clone()));
            }
        }
        out
    }
}

/// The twin of `task_claim.lua`: pick the task, grant every lock (the same decision as
/// `acquire`), or put the locks back as they were and claim nothing.
fn claim(st: &mut State, req: &ClaimRequest, now: i64) -> ClaimOutcome {
    let id = match st.tasks.pick(req) {
        Ok(id) => id,
        Err(why) => return why,
    };
    let mut grants = Vec::with_capacity(req.locks.len());
    if !req.locks.is_empty() {
        let saved = (st.locks.clone(), st.sessions.last_seen.clone());
        for l in &req.locks {
            match super::locks::acquire(st, l, now) {
                AcquireOutcome::Granted(g) => grants.push(g),
                AcquireOutcome::Refused(r) => {
                    (st.locks, st.sessions.last_seen) = saved;
                    return ClaimOutcome::LocksRefused {
                        lock: l.name.clone(),
                        refusal: Box::new(r),
                    };
                }
            }
        }
    }
    let names = grants.iter().map(|g| g.lock.name.clone()).collect();
    match st.tasks.take(&req.project, id, &req.session, names, now) {
        Some(task) => ClaimOutcome::Claimed(Box::new(Claimed { task, grants })),
        None => ClaimOutcome::NotFound,
    }
}

#[async_trait]
impl TaskStore for MemoryStore {
    async fn create_tasks(&self, req: &CreateTasks) -> Result<CreateOutcome, StoreError> {
        let now = wall_clock_ms();
        self.apply(|st| st.tasks.create(req, now)).await
    }

    async fn claim_task(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        let now = wall_clock_ms();
        self.apply(|st| claim(st, req, now)).await
    }

    async fn update_task(&self, req: &UpdateTask) -> Result<UpdateOutcome, StoreError> {
        let now = wall_clock_ms();
        self.apply(|st| st.tasks.update(req, now)).await
    }

    async fn get_task(&self, project: &str, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        self.apply(|st| st.tasks.get(project, id).cloned()).await
    }

    async fn list_tasks(&self, project: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.apply(|st| {
            let mut all: Vec<TaskRecord> =
                st.tasks.project(project).map(|(_, t)| t.clone()).collect();
            all.sort_by_key(|t| (claim_order(&t.state), t.spec.id.clone()));
            all
        })
        .await
    }

    async fn release_tasks_of(
        &self,
        req: &HandBack,
    ) -> Result<Vec<(String, TaskRecord)>, StoreError> {
        let note = TaskNote {
            at_ms: wall_clock_ms(),
            by: req.by.clone(),
            text: req.text.clone(),
        };
        self.apply(|st| st.tasks.release_of(&req.session, note, req.notes_kept))
            .await
    }

    async fn task_projects(&self) -> Result<Vec<String>, StoreError> {
        self.apply(|st| {
            let mut names: Vec<String> = st.tasks.tasks.keys().map(|(p, _)| p.clone()).collect();
            names.dedup();
            names
        })
        .await
    }
}
