//! Redis implementation of [`TaskStore`](crate::store::tasks::TaskStore): one Lua script
//! per decision (`scripts/task_*.lua`, each prefixed with `common.lua`, the generated
//! `claim_order` and `task_common.lua`). Keys: `tasks:{project}:spec|state|ready`,
//! `task_holds:{session}`, `tasks:projects` (see `keys.rs`).

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;
use serde::Deserialize;

use super::RedisStore;
use crate::domain::lua_json::lua_vec;
use crate::domain::tasks::{Priority, TaskRecord, TaskSpec, TaskState, TaskStatus};
use crate::store::StoreError;
use crate::store::locks::{Grant, NOTE_TTL_MS, Refusal};
use crate::store::tasks::{
    ClaimOutcome, ClaimRequest, Claimed, CreateOutcome, CreateRefusal, CreateTasks, HandBack,
    TaskStore, UpdateOutcome, UpdateTask, Waiting, claim_order,
};

/// `claim_order(st)` in Lua, generated from [`claim_order`] and [`Priority::rank`] so the
/// ready zset sorts exactly as the embedded store does.
pub fn lua_claim_order() -> String {
    let probe = |p: Priority| {
        let mut st = TaskState::new(
            &serde_json::from_value::<TaskSpec>(serde_json::json!({"id": "x", "title": "x"}))
                .expect("a minimal spec parses"),
            0,
            "",
            "",
            0,
        );
        st.priority = p;
        claim_order(&st)
    };
    let step = probe(Priority::Medium) - probe(Priority::High);
    format!(
        "local function claim_order(st)\n  local rank = ({{ high = {}, medium = {}, low = {} }})[st.priority] or {}\n  return rank * {step} + st.seq\nend\n",
        Priority::High.rank(),
        Priority::Medium.rank(),
        Priority::Low.rank(),
        Priority::Medium.rank(),
    )
}

/// A task script: the shared helpers ([`super::lua::source`]), the generated
/// `claim_order`, `scripts/task_common.lua`, then the script.
fn task_script_source(script: &str) -> String {
    super::lua::source(&format!(
        "{}{}{script}",
        lua_claim_order(),
        include_str!("scripts/task_common.lua")
    ))
}

macro_rules! task_script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(&task_script_source(include_str!(concat!(
                "scripts/", $file
            ))))
        })
    };
}

static CREATE: LazyLock<Script> = task_script!("task_create.lua");
static CLAIM: LazyLock<Script> = task_script!("task_claim.lua");
static UPDATE: LazyLock<Script> = task_script!("task_update.lua");
static RELEASE: LazyLock<Script> = task_script!("task_release.lua");

/// One task handed back by `task_release.lua`.
#[derive(Deserialize)]
struct Released {
    project: String,
    spec: String,
    state: TaskState,
}

#[derive(Deserialize)]
struct ReleasedAll {
    #[serde(default, deserialize_with = "lua_vec")]
    tasks: Vec<Released>,
}

/// What the task scripts answer (one shape for all three; absent fields default).
#[derive(Deserialize)]
struct Answer {
    outcome: String,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    dependency: Option<String>,
    #[serde(default)]
    existing: Option<usize>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default, deserialize_with = "lua_vec")]
    states: Vec<TaskState>,
    #[serde(default)]
    state: Option<TaskState>,
    #[serde(default)]
    spec: Option<String>,
    #[serde(default)]
    status: Option<TaskStatus>,
    #[serde(default)]
    previous: Option<TaskStatus>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default, deserialize_with = "lua_vec")]
    waiting_on: Vec<Waiting>,
    #[serde(default, deserialize_with = "lua_vec")]
    unblocked: Vec<String>,
    #[serde(default, deserialize_with = "lua_vec")]
    grants: Vec<Grant>,
    #[serde(default)]
    lock: Option<String>,
    #[serde(default)]
    refused: Option<Refusal>,
}

/// One lock of a claim, as `task_claim.lua` reads it.
#[derive(serde::Serialize)]
struct LockWanted<'a> {
    name: &'a str,
    ttl: i64,
    reason: &'a str,
    force: bool,
    delay_ms: i64,
    desc_prefix: &'a str,
    ancestors: &'a [String],
}

fn bad(what: &str) -> StoreError {
    StoreError::Internal(format!("unexpected task script result: {what}"))
}

impl Answer {
    fn record(&mut self) -> Result<TaskRecord, StoreError> {
        let spec = self.spec.take().ok_or_else(|| bad("no spec"))?;
        let spec: TaskSpec =
            serde_json::from_str(&spec).map_err(|e| bad(&format!("spec ({e}): {spec}")))?;
        let state = self.state.take().ok_or_else(|| bad("no state"))?;
        Ok(TaskRecord { spec, state })
    }
}

impl RedisStore {
    async fn task_eval(
        &self,
        script: &'static Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<Answer, StoreError> {
        self.eval_json(script, keys, args).await
    }

    fn project_keys(&self, project: &str) -> Vec<String> {
        let k = self.keys();
        vec![
            k.tasks_spec(project),
            k.tasks_state(project),
            k.tasks_ready(project),
        ]
    }
}

fn encode<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(format!("cannot encode a task: {e}")))
}

#[async_trait]
impl TaskStore for RedisStore {
    async fn create_tasks(&self, req: &CreateTasks) -> Result<CreateOutcome, StoreError> {
        let mut keys = self.project_keys(&req.project);
        keys.push(self.keys().task_projects());
        let mut args = vec![
            req.project.clone(),
            req.max_per_project.to_string(),
            req.tasks.len().to_string(),
        ];
        for spec in &req.tasks {
            args.push(spec.id.clone());
            args.push(encode(spec)?);
            args.push(encode(&TaskState::new(
                spec,
                0,
                &req.batch,
                &req.created_by,
                0,
            ))?);
        }
        let a = self.task_eval(&CREATE, keys, args).await?;
        match (a.outcome.as_str(), a.refusal.as_deref()) {
            ("created", _) => {
                if a.states.len() != req.tasks.len() {
                    return Err(bad("a different number of states"));
                }
                Ok(CreateOutcome::Created(
                    req.tasks
                        .iter()
                        .cloned()
                        .zip(a.states)
                        .map(|(spec, state)| TaskRecord { spec, state })
                        .collect(),
                ))
            }
            ("refused", Some("duplicate_id")) => {
                Ok(CreateOutcome::Refused(CreateRefusal::DuplicateId {
                    id: a.id.unwrap_or_default(),
                }))
            }
            ("refused", Some("unknown_dependency")) => {
                Ok(CreateOutcome::Refused(CreateRefusal::UnknownDependency {
                    task: a.task.unwrap_or_default(),
                    dependency: a.dependency.unwrap_or_default(),
                }))
            }
            ("refused", Some("project_full")) => {
                Ok(CreateOutcome::Refused(CreateRefusal::ProjectFull {
                    existing: a.existing.unwrap_or_default(),
                    limit: a.limit.unwrap_or_default(),
                }))
            }
            (other, _) => Err(bad(other)),
        }
    }

    async fn claim_task(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        let k = self.keys();
        let mut keys = self.project_keys(&req.project);
        keys.extend([
            k.tasks_held(&req.session),
            k.store_epoch(),
            k.lock_index(),
            k.lock_names(),
            k.sessions_last_seen(),
            k.daemons(),
            k.locks_held(&req.session),
            k.lock_notes(&req.session),
        ]);
        let (active, idle, stale) = req
            .locks
            .first()
            .map(|l| (l.tiers.active_ms, l.tiers.idle_ms, l.tiers.stale_ms))
            .unwrap_or_default();
        let wanted: Vec<LockWanted> = req
            .locks
            .iter()
            .map(|l| LockWanted {
                name: &l.name,
                ttl: l.ttl_ms,
                reason: l.reason.as_deref().unwrap_or(""),
                force: l.force,
                delay_ms: l.lock_delay_ms,
                desc_prefix: l.descendant_prefix.as_deref().unwrap_or(""),
                ancestors: &l.ancestors,
            })
            .collect();
        let mut args = vec![
            req.session.clone(),
            req.role.clone().unwrap_or_default(),
            req.task_id.clone().unwrap_or_default(),
            req.project.clone(),
            if wanted.is_empty() {
                String::new()
            } else {
                encode(&wanted)?
            },
            String::new(), // the known epoch id, set below
            self.daemon_id().to_string(),
            k.prefix().to_string(),
            active.to_string(),
            idle.to_string(),
            stale.to_string(),
            NOTE_TTL_MS.to_string(),
        ];
        const EPOCH_ARG: usize = 5;
        // As acquire: a changed data-loss marker is checked, then the claim asked again.
        for _ in 0..2 {
            args[EPOCH_ARG] = self.known_epoch();
            let mut a = self.task_eval(&CLAIM, keys.clone(), args.clone()).await?;
            return Ok(match a.outcome.as_str() {
                "epoch_changed" => {
                    self.check_epoch("the epoch marker vanished or changed under a task claim")
                        .await?;
                    continue;
                }
                "claimed" => ClaimOutcome::Claimed(Box::new(Claimed {
                    task: a.record()?,
                    grants: std::mem::take(&mut a.grants),
                })),
                "locks_refused" => ClaimOutcome::LocksRefused {
                    lock: a.lock.take().unwrap_or_default(),
                    refusal: Box::new(a.refused.take().ok_or_else(|| bad("no refusal"))?),
                },
                "nothing_ready" => ClaimOutcome::NothingReady,
                "not_found" => ClaimOutcome::NotFound,
                "not_ready" => ClaimOutcome::NotReady {
                    waiting_on: a.waiting_on,
                },
                "not_pending" => ClaimOutcome::NotPending {
                    status: a.status.ok_or_else(|| bad("no status"))?,
                    assignee: a.assignee,
                },
                other => return Err(bad(other)),
            });
        }
        Err(StoreError::Unavailable(format!(
            "the data-loss guard's marker {} keeps changing under this daemon; something is \
             deleting keys (FLUSHALL? a cleanup script?)",
            k.store_epoch()
        )))
    }

    async fn update_task(&self, req: &UpdateTask) -> Result<UpdateOutcome, StoreError> {
        let keys = self.project_keys(&req.project);
        let args = vec![
            req.task_id.clone(),
            req.subtask.clone().unwrap_or_default(),
            req.session.clone(),
            req.status
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            req.progress.map(|p| p.to_string()).unwrap_or_default(),
            req.note.clone().unwrap_or_default(),
            req.notes_kept.to_string(),
            self.keys().prefix().to_string(),
            req.project.clone(),
        ];
        let mut a = self.task_eval(&UPDATE, keys, args).await?;
        Ok(match a.outcome.as_str() {
            "updated" => UpdateOutcome::Updated {
                task: Box::new(a.record()?),
                previous: a.previous.ok_or_else(|| bad("no previous status"))?,
                unblocked: std::mem::take(&mut a.unblocked),
            },
            "not_found" => UpdateOutcome::NotFound,
            "no_subtask" => UpdateOutcome::NoSubtask,
            "not_yours" => UpdateOutcome::NotYours {
                assignee: a.assignee.unwrap_or_default(),
            },
            "waiting_on" => UpdateOutcome::WaitingOn(a.waiting_on),
            other => return Err(bad(other)),
        })
    }

    async fn get_task(&self, project: &str, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let k = self.keys();
        let (spec_key, state_key) = (k.tasks_spec(project), k.tasks_state(project));
        let id = id.to_string();
        let (spec, state): (Option<String>, Option<String>) = self
            .run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hget(&spec_key, &id)
                    .hget(&state_key, &id)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        match (spec, state) {
            (Some(spec), Some(state)) => Ok(Some(decode(&spec, &state)?)),
            _ => Ok(None),
        }
    }

    async fn list_tasks(&self, project: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let k = self.keys();
        let (spec_key, state_key) = (k.tasks_spec(project), k.tasks_state(project));
        let (specs, states): (
            std::collections::HashMap<String, String>,
            std::collections::HashMap<String, String>,
        ) = self
            .run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hgetall(&spec_key)
                    .hgetall(&state_key)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut all = Vec::with_capacity(states.len());
        for (id, state) in &states {
            if let Some(spec) = specs.get(id) {
                all.push(decode(spec, state)?);
            }
        }
        all.sort_by_key(|t: &TaskRecord| (claim_order(&t.state), t.spec.id.clone()));
        Ok(all)
    }

    async fn release_tasks_of(
        &self,
        req: &HandBack,
    ) -> Result<Vec<(String, TaskRecord)>, StoreError> {
        let k = self.keys();
        let keys = vec![k.tasks_held(&req.session)];
        let args = vec![
            req.session.clone(),
            req.by.clone(),
            req.text.clone(),
            req.notes_kept.to_string(),
            k.prefix().to_string(),
        ];
        let raw: String = self
            .run(|mut conn| async move {
                let mut inv = RELEASE.prepare_invoke();
                for key in &keys {
                    inv.key(key);
                }
                for a in &args {
                    inv.arg(a);
                }
                inv.invoke_async(&mut conn).await
            })
            .await?;
        let all: ReleasedAll =
            serde_json::from_str(&raw).map_err(|e| bad(&format!("{e}: {raw}")))?;
        let mut out = Vec::with_capacity(all.tasks.len());
        for t in all.tasks {
            let spec: TaskSpec = serde_json::from_str(&t.spec)
                .map_err(|e| bad(&format!("spec ({e}): {}", t.spec)))?;
            out.push((
                t.project,
                TaskRecord {
                    spec,
                    state: t.state,
                },
            ));
        }
        out.sort_by(|a, b| (&a.0, &a.1.spec.id).cmp(&(&b.0, &b.1.spec.id)));
        Ok(out)
    }

    async fn task_projects(&self) -> Result<Vec<String>, StoreError> {
        let key = self.keys().task_projects();
        let mut names: Vec<String> = self
            .run(|mut c| async move {
                redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query_async::<Vec<String>>(&mut c)
                    .await
            })
            .await?;
        names.sort();
        Ok(names)
    }
}

fn decode(spec: &str, state: &str) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        spec: serde_json::from_str(spec).map_err(|e| bad(&format!("spec ({e}): {spec}")))?,
        state: serde_json::from_str(state).map_err(|e| bad(&format!("state ({e}): {state}")))?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lua_claim_order_is_generated_from_the_rust_rule() {
        assert_eq!(
            super::lua_claim_order(),
            "local function claim_order(st)\n  local rank = ({ high = 0, medium = 1, low = 2 })[st.priority] or 1\n  return rank * 1000000000 + st.seq\nend\n"
        );
    }
}
