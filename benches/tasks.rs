//! Task claims under load (issue 17): `cargo bench --bench tasks`.
//!
//! Per store (a throwaway redis-server, then the embedded store): a project of 1,000 tasks,
//! and 8 claimers — each its own MCP connection over Streamable HTTP to the in-process
//! daemon — that loop `next_task` → `update_task(done)` until every task is done. Two
//! plans: no dependencies (every task ready at once: the claim path alone), and a random
//! dependency graph (up to 4 earlier tasks each: claimers also meet "nothing ready yet").
//! Prints `next_task` latency p50/p99 over the calls that claimed a task, the empty answers,
//! and claims/s (1,000 / wall time, each claim followed by its `done`). Nothing is asserted.
//!
//! `cargo test --all-targets` runs bench targets too; without `--bench` this exits at once.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mcp_coord::config::{Settings, Sources};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use support::{Client, Redis, connect, stats};

const TASKS: usize = 1_000;
const CLAIMERS: usize = 8;

fn main() {
    support::run(async {
        println!(
            "mcp-coord task benchmark: {TASKS} tasks, {CLAIMERS} claimers (MCP Streamable \
             HTTP, in-process daemon), {} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "{:<46} {:>10} {:>12} {:>12} {:>8}",
            "store, plan", "claims/s", "p50 next", "p99 next", "empty"
        );
        let redis = Redis::start();
        let mut settings = Settings::default();
        settings.store.redis_url = redis.url();
        support::without_rate_limits(&mut settings);
        rows("redis", settings).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::default();
        settings.store.data_dir = dir.path().display().to_string();
        support::without_rate_limits(&mut settings);
        rows("embedded (fsync everysec)", settings).await;
    });
}

async fn rows(store: &str, mut settings: Settings) {
    settings.server.port = 0;
    settings.log.format = "text".into();
    let daemon = mcp_coord::app::start(settings, &Sources(vec!["bench".into()]))
        .await
        .expect("daemon starts");
    let base = format!("http://{}", daemon.addr);
    for (n, (plan, deps)) in [("no dependencies", 0), ("random dependencies", 4)]
        .into_iter()
        .enumerate()
    {
        let project = format!("bench{n}");
        let r = run(&base, &project, deps).await;
        println!(
            "{:<46} {:>10.0} {:>9.2} ms {:>9.2} ms {:>8}",
            format!("{store}, {plan}"),
            r.claims_per_second,
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0,
            r.empty
        );
    }
    daemon.shutdown().await;
}

struct Row {
    claims_per_second: f64,
    p50: Duration,
    p99: Duration,
    empty: usize,
}

/// The plan: ids 1..=1000; with `max_deps`, each task depends on up to that many earlier
/// ones (a fixed-seed LCG, so every run measures the same graph).
fn plan(max_deps: u64) -> Vec<Value> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |m: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m.max(1)
    };
    (1..=TASKS as u64)
        .map(|id| {
            let mut deps: Vec<u64> = Vec::new();
            if id > 1 && max_deps > 0 {
                for _ in 0..next(max_deps + 1) {
                    let d = 1 + next(id - 1);
                    if !deps.contains(&d) {
                        deps.push(d);
                    }
                }
            }
            json!({ "id": id, "title": format!("task {id}"), "dependencies": deps })
        })
        .collect()
}

async fn tool(client: &Client, name: &str, args: Value) -> Value {
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let r = client.call_tool(params).await.expect("tool call");
    assert!(r.is_error != Some(true), "{name} refused: {r:?}");
    r.structured_content
        .or_else(|| {
            r.content
                .first()
                .and_then(|c| c.as_text())
                .and_then(|t| serde_json::from_str(&t.text).ok())
        })
        .unwrap_or(Value::Null)
}

async fn run(base: &str, project: &str, max_deps: u64) -> Row {
    let master = connect(
        base,
        "streamable-http",
        &format!("master_project_{project}"),
    )
    .await;
    tool(
        &master,
        "create_tasks",
        json!({ "tasks": plan(max_deps), "project": project }),
    )
    .await;
    let mut clients = Vec::new();
    for w in 0..CLAIMERS {
        clients.push(connect(base, "streamable-http", &format!("claimer-{project}-{w}")).await);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let empty = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for client in clients {
        let (done, empty, project) = (done.clone(), empty.clone(), project.to_string());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while done.load(Ordering::SeqCst) < TASKS {
                let t0 = Instant::now();
                let got = tool(&client, "next_task", json!({ "project": project })).await;
                let took = t0.elapsed();
                let Some(id) = got["task"]["id"].as_str().map(str::to_string) else {
                    empty.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                };
                samples.push(took);
                tool(
                    &client,
                    "update_task",
                    json!({ "task_id": id, "status": "done", "project": project }),
                )
                .await;
                done.fetch_add(1, Ordering::SeqCst);
            }
            let _ = client.cancel().await;
            samples
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await.expect("claimer"));
    }
    let elapsed = started.elapsed();
    let _ = master.cancel().await;
    let s = stats(samples, elapsed);
    Row {
        claims_per_second: TASKS as f64 / elapsed.as_secs_f64(),
        p50: s.p50,
        p99: s.p99,
        empty: empty.load(Ordering::SeqCst),
    }
}
