//! Issue 17 property: 8 concurrent claimers over 1,000 tasks with random dependencies (a
//! seeded random DAG, random priorities) — every task is claimed and done exactly once, and
//! never claimed before all its dependencies were done. Both stores: the embedded one and a
//! real redis-server. Through the service layer (`Coordinator::next_task` / `update_task`),
//! so every claim is the real store decision without the MCP round trip.
//!
//! A failure prints its seed; `TASKS_SEED=<seed> cargo test --test it tasks_property`
//! reproduces the graph (the interleaving of the claimers is the scheduler's).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_coord::service::tasks::{CreateTasksArgs, ListTasksArgs, NextTaskArgs, UpdateTaskArgs};
use mcp_coord::service::{Caller, Coordinator};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const TASKS: usize = 1_000;
const CLAIMERS: usize = 8;
/// Far above what a run needs; a wedged claim loop fails instead of hanging.
const BOUND: Duration = Duration::from_secs(120);

fn caller(name: &str) -> Caller {
    Caller {
        session: name.to_string(),
        connection_id: format!("prop:{name}"),
        transport: "cli",
        principal: Default::default(),
    }
}

fn seed() -> u64 {
    match std::env::var("TASKS_SEED") {
        Ok(s) => s.trim().parse().expect("TASKS_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(17),
    }
}

/// A random DAG: task i depends on up to 4 distinct earlier tasks (ids shuffled so the
/// order of creation is not the order of the graph); priorities at random.
fn plan(seed: u64) -> (Vec<Value>, HashMap<String, Vec<String>>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut ids: Vec<usize> = (1..=TASKS).collect();
    for i in (1..ids.len()).rev() {
        let j = rng.random_range(0..=i);
        ids.swap(i, j);
    }
    let mut deps: HashMap<String, Vec<String>> = HashMap::new();
    let mut tasks = Vec::with_capacity(TASKS);
    for (pos, id) in ids.iter().enumerate() {
        let mut mine: Vec<String> = Vec::new();
        if pos > 0 {
            for _ in 0..rng.random_range(0..=4usize) {
                let d = ids[rng.random_range(0..pos)].to_string();
                if !mine.contains(&d) {
                    mine.push(d);
                }
            }
        }
        let priority = ["high", "medium", "low"][rng.random_range(0..3usize)];
        tasks.push(
            json!({ "id": id, "title": format!("task {id}"), "priority": priority,
                           "dependencies": mine }),
        );
        deps.insert(id.to_string(), mine);
    }
    (tasks, deps)
}

async fn property(coord: Arc<Coordinator>, store: &str) {
    let seed = seed();
    let (tasks, deps) = plan(seed);
    let deps = Arc::new(deps);
    let project = "prop".to_string();
    let tasks = serde_json::from_value(Value::Array(tasks)).unwrap();
    let made = coord
        .create_tasks(
            &caller("master_project_prop"),
            CreateTasksArgs {
                tasks,
                project: Some(project.clone()),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: create_tasks: {e:?}"));
    assert_eq!(made.created, TASKS, "seed {seed}");

    // Marked done BEFORE update_task(done) returns, so a dependent claimed after the store
    // made the dependency done always finds it here.
    let done: Arc<Mutex<HashSet<String>>> = Arc::default();
    let claims: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..CLAIMERS {
        let (coord, deps, done, claims, project) = (
            coord.clone(),
            deps.clone(),
            done.clone(),
            claims.clone(),
            project.clone(),
        );
        workers.push(tokio::spawn(async move {
            let me = caller(&format!("claimer-{w}"));
            loop {
                assert!(
                    started.elapsed() < BOUND,
                    "seed {seed}: claimers still busy after {BOUND:?}"
                );
                let got = coord
                    .next_task(
                        &me,
                        NextTaskArgs {
                            project: Some(project.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed}: next_task: {e:?}"));
                let Some(task) = got.task else {
                    if done.lock().unwrap().len() == TASKS {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                };
                let id = task.id.clone();
                {
                    let done = done.lock().unwrap();
                    let missing: Vec<&String> =
                        deps[&id].iter().filter(|d| !done.contains(*d)).collect();
                    assert!(
                        missing.is_empty(),
                        "seed {seed}: task {id} was claimed by {} before its dependencies \
                         {missing:?} were done",
                        me.session
                    );
                }
                *claims.lock().unwrap().entry(id.clone()).or_default() += 1;
                done.lock().unwrap().insert(id.clone());
                coord
                    .update_task(
                        &me,
                        UpdateTaskArgs {
                            task_id: id.clone(),
                            status: Some("done".into()),
                            project: Some(project.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed}: update_task({id}, done): {e:?}"));
            }
        }));
    }
    for w in workers {
        if let Err(e) = w.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let elapsed = started.elapsed();
    let claims = claims.lock().unwrap().clone();
    assert_eq!(claims.len(), TASKS, "seed {seed}: every task claimed");
    let twice: Vec<_> = claims.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "seed {seed}: claimed more than once: {twice:?}"
    );
    let board = coord
        .list_tasks(
            &caller("master_project_prop"),
            ListTasksArgs {
                project: Some(project.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        board.counts["done"], TASKS,
        "seed {seed}: {:?}",
        board.counts
    );
    println!(
        "{store}: {TASKS} tasks, {CLAIMERS} claimers, seed {seed}: all done once, in \
         dependency order ({:.1} s)",
        elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_claimers_do_every_task_once_in_order_embedded() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    property(d.coord().clone(), "embedded").await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_claimers_do_every_task_once_in_order_redis() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    property(d.coord().clone(), "redis").await;
    d.stop().await;
}
