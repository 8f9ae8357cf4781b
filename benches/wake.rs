//! Wake-up latency and idle cost: `cargo bench --bench wake`.
//!
//! 1. **Wake latency with real Claude Code**: an interactive Claude Code (in tmux, against
//!    the scripted model, our hooks installed) sits idle at its prompt; a task message is
//!    sent; the time until the model receives the request containing it. 25 wake-ups;
//!    p50/p99 printed. Skipped, with a line saying why, where Claude Code is not installed.
//! 2. **50 idle agents**: the daemon as its own process and 50 armed `mcp-coord hook --wait`
//!    processes: the daemon's CPU time over 20 s of idling and its open sockets; then one
//!    task to each: message sent → hook exits 2, p50/p99.
//!
//! Nothing is asserted. `cargo test --all-targets` runs bench targets too; without
//! `--bench` this exits at once.

// The test harness's Claude Code runner and scripted model, reused as they are (claude.rs
// finds `binary` and `tmux` beside it, as in tests/it/support).
#[allow(dead_code)]
#[path = "../tests/it/support/binary.rs"]
mod binary;
#[allow(dead_code)]
#[path = "../tests/it/support/claude.rs"]
mod claude;
#[allow(dead_code)]
#[path = "../tests/it/support/model.rs"]
mod model;
mod support;
#[allow(dead_code)]
#[path = "../tests/it/support/tmux.rs"]
mod tmux;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_coord::config::{Settings, Sources};
use mcp_coord::service::locks::WaitContext;
use mcp_coord::service::messages::SendArgs;
use mcp_coord::service::{Caller, Coordinator};
use tokio::io::AsyncWriteExt;

use claude::{Agent, Transport};
use model::ScriptedModel;
use tmux::TmuxSocket;

const WAKES: usize = 25;
const IDLE_AGENTS: usize = 50;
const IDLE_FOR: Duration = Duration::from_secs(20);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.0} ms p99={:.0} ms min={:.0} ms max={:.0} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1000.0,
        percentile(&samples, 0.99).as_secs_f64() * 1000.0,
        samples.first().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}

fn settings() -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.log.format = "text".into();
    s.log.level = "warn".into();
    let dir = tempfile::Builder::new()
        .prefix("mcp-coord-bench-")
        .tempdir()
        .expect("temp dir");
    s.store.data_dir = dir.keep().display().to_string();
    s
}

async fn send_task(coord: &Arc<Coordinator>, to: &str, body: String) {
    let caller = Caller {
        session: "bench_master".into(),
        connection_id: "bench".into(),
        transport: "bench",
        principal: Default::default(),
    };
    let req = SendArgs {
        to: Some(to.into()),
        message: body,
        kind: Some("task".into()),
        ..SendArgs::default()
    };
    coord
        .send_message(&caller, req, WaitContext::default())
        .await
        .expect("the task is sent");
}

async fn armed(coord: &Coordinator, n: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while coord.waiters().count() < n {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Part 1: an idle interactive Claude Code woken `WAKES` times.
async fn claude_wake_latency() {
    let claude = match claude::claude_binary() {
        Ok(c) => c,
        Err(why) => {
            println!("wake latency with Claude Code: SKIPPED ({why})");
            return;
        }
    };
    let daemon = mcp_coord::app::start(settings(), &Sources(vec!["bench".into()]))
        .await
        .expect("daemon starts");
    let base = format!("http://{}", daemon.addr);
    let coord = daemon.coord.clone();
    let model = ScriptedModel::start().await;
    let agent = Agent::new(&claude, &base, &model.url, Transport::Http)
        .with_env("COORD_SESSION", "bench_idle");
    let tmux = TmuxSocket::new();
    let _tui = agent.tui(&tmux, "bench").await;
    let mut samples = Vec::new();
    for i in 0..WAKES {
        // Idle, with its waiter armed (re-armed by the Stop after the previous wake-up).
        if !armed(&coord, 1, Duration::from_secs(60)).await {
            println!("wake latency: no waiter armed after wake {i}; stopping");
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let seen = model.conversation().len();
        let task = format!("bench-task-{i}-{}", uuid::Uuid::new_v4().simple());
        let sent = Instant::now();
        send_task(&coord, "bench_idle", task.clone()).await;
        match model
            .wait_for_text(seen, &task, Duration::from_secs(60))
            .await
        {
            Some(_) => samples.push(sent.elapsed()),
            None => {
                println!("wake latency: wake {i} never reached the model; stopping");
                break;
            }
        }
    }
    report(
        "wake latency, real Claude Code (message sent -> model request with it)",
        samples,
    );
    daemon.shutdown().await;
}

/// CPU time (user + system, in clock ticks) and open sockets of process `pid`.
fn process_cost(pid: u32) -> (u64, usize) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
    let sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0);
    (ticks, sockets)
}

/// Part 2: 50 armed waiters on a daemon process.
async fn idle_cost() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = std::process::Command::new(binary::BIN);
    binary::clean_env(&mut cmd);
    let mut daemon = cmd
        .args(["serve", "--port", &port.to_string(), "--log-level", "warn"])
        .env("MCP_COORD_DATA_DIR", dir.path())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the daemon starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, sockets_before) = process_cost(daemon.id());
    // Each idle agent: a registered session and its waiting hook.
    let mut hooks = Vec::new();
    for i in 0..IDLE_AGENTS {
        let name = format!("idle_{i}");
        let mut c = std::process::Command::new(binary::BIN);
        binary::clean_env(&mut c);
        let mut c = tokio::process::Command::from(c);
        c.args([
            "--url",
            &base,
            "hook",
            "--wait",
            "--max-wait-seconds",
            "600",
        ])
        .env("COORD_SESSION", &name)
        .env("MCP_COORD_WAKE", "always")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        let mut child = c.spawn().expect("hook starts");
        let event =
            serde_json::json!({ "hook_event_name": "Stop", "session_id": format!("c-{name}") });
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(event.to_string().as_bytes()).await.unwrap();
        drop(stdin);
        hooks.push((name, child));
    }
    // Register the sessions (so messages can be sent to them) through the CLI's own path.
    for (name, _) in &hooks {
        let mut c = std::process::Command::new(binary::BIN);
        binary::clean_env(&mut c);
        let _ = tokio::process::Command::from(c)
            .args([
                "--url",
                &base,
                "--session",
                name,
                "lock",
                &format!("bench-{name}"),
                "--ttl",
                "600",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (t0, sockets) = process_cost(daemon.id());
    let started = Instant::now();
    tokio::time::sleep(IDLE_FOR).await;
    let (t1, _) = process_cost(daemon.id());
    let ticks_per_s = 100.0; // Linux USER_HZ
    let cpu_s = (t1 - t0) as f64 / ticks_per_s;
    println!(
        "{IDLE_AGENTS} idle agents, each with its waiter armed: daemon CPU {:.2} s over {:.0} s \
         ({:.2}% of one core), {} open sockets ({} before the hooks)",
        cpu_s,
        started.elapsed().as_secs_f64(),
        cpu_s / started.elapsed().as_secs_f64() * 100.0,
        sockets,
        sockets_before
    );
    // One task to each: sent -> that hook exits 2.
    let mut samples = Vec::new();
    for (name, child) in hooks {
        let mut c = std::process::Command::new(binary::BIN);
        binary::clean_env(&mut c);
        let sent = Instant::now();
        let _ = tokio::process::Command::from(c)
            .args([
                "--url",
                &base,
                "--session",
                "bench_master",
                "send",
                &name,
                "wake up",
                "--kind",
                "task",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        // `send` itself is a process start and one call; measure to the hook's exit.
        if let Ok(Ok(out)) =
            tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await
            && out.status.code() == Some(2)
        {
            samples.push(sent.elapsed());
        }
    }
    report(
        "wake latency, waiting hook alone (mcp-coord send started -> hook exits 2)",
        samples,
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}

fn main() {
    support::run(async {
        claude_wake_latency().await;
        idle_cost().await;
    });
}
