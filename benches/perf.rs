//! The performance table of issue 18: `cargo bench --bench perf` (about 4 minutes).
//!
//! The daemon runs as its own process (the release binary `cargo bench` builds), so its CPU
//! time (`utime + stime` deltas of `/proc/<pid>/stat`) and memory (`VmRSS`, `VmHWM` of
//! `/proc/<pid>/status`) are its own, not the load generator's. The load generator is this
//! process: rmcp clients on both transports, as in the tests.
//!
//! Sections:
//! 1. reference: a raw Redis PING round trip;
//! 2. acquire_lock + release_lock pairs (each client on its own lock) at 1 / 8 / 64 clients,
//!    on both stores × both transports: calls/s, p50, server CPU ms per call, peak RSS (a
//!    fresh daemon per row); plus Node's `fetch` keep-alive client calling `whoami` (the
//!    TCP_NODELAY guard: ~40 ms per call without it);
//! 3. idle connections: 1,000 idle SSE + 1,000 idle Streamable-HTTP sessions, daemon RSS
//!    before, with them open, after the daemon closed their idle kept-alive POST connections
//!    (`server.http_idle_seconds`), and after they close, over 3 rounds;
//! 4. scale: `list_sessions` / `session_status` / `list_locks` / the `status` CLI with 1,000
//!    live sessions and 10,000 locks; a reaper pass over 10,000 sessions; a notification
//!    fan-out to 1,000 subscribers.
//!
//! Every timed figure is the median of 3 runs: the machine is shared and the figures are
//! noisy. Nothing is asserted. `MCP_COORD_BENCH_ONLY=throughput,idle,scale` runs a subset
//! (`listing`, `reaper`, `fanout` are the three parts of `scale`);
//! `MCP_COORD_BENCH_DAEMON=<path>` measures another build of the daemon (before/after).
//! `cargo test --all-targets` runs bench targets too; without `--bench` this exits at once.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mcp_coord::config::Settings;
use mcp_coord::service::locks::{AcquireLockArgs, WaitContext};
use mcp_coord::service::{Caller, Coordinator};
use rmcp::model::{
    CallToolRequestParams, ResourceUpdatedNotificationParam, SubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;

use support::{Client, DaemonProc, NodeRow, Redis, StoreKind, call, call_with, connect, median};

const RUNS: usize = 3;
const RUN_FOR: Duration = Duration::from_millis(1500);
const TRANSPORTS: [&str; 2] = ["streamable-http", "sse"];
const CLIENTS: [usize; 3] = [1, 8, 64];
const IDLE: usize = 1000;
const IDLE_ROUNDS: usize = 3;
/// `server.http_idle_seconds` of the idle section's daemon, and when it is looked at again.
const HTTP_IDLE_S: u64 = 5;
const IDLE_CLOSE_AFTER_S: u64 = 7;
const SCALE_SESSIONS: usize = 1000;
const LOCKS_PER_SESSION: usize = 10;
const REAPER_SESSIONS: usize = 10_000;
const SUBSCRIBERS: usize = 1000;

fn main() {
    let only = std::env::var("MCP_COORD_BENCH_ONLY").unwrap_or_default();
    let wants = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    support::run(async {
        raise_fd_limit();
        let redis = Redis::start();
        let logs = tempfile::Builder::new()
            .prefix("mcp-coord-perf-")
            .tempdir()
            .expect("temp dir");
        header();
        if wants("throughput") {
            throughput_section(&redis, logs.path()).await;
        }
        if wants("idle") {
            idle_section(&redis, logs.path()).await;
        }
        if wants("scale") || wants("listing") {
            scale_section(&redis, logs.path()).await;
        }
        if wants("scale") || wants("reaper") {
            reaper_rows(&redis, logs.path()).await;
        }
        if wants("scale") || wants("fanout") {
            fanout_rows(&redis, logs.path()).await;
        }
    });
}

/// 2,000 idle connections need well over the default 1,024 descriptors, here and in the
/// daemon (which inherits the limit).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a stack struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn header() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "mcp-coord performance table (release daemon as its own process; {} CPUs; Linux {}; \
         load average at start {})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("daemon binary: {}", support::daemon_binary().display());
    println!(
        "Every timed figure is the median of {RUNS} runs. On a shared machine they are noisy: \
         compare rows of one run, not runs of different days."
    );
}

fn section(title: &str) {
    println!();
    println!("## {title}");
}

// ----------------------------------------------------------------------------------------
// 1 + 2: reference and throughput

async fn raw_ping(url: &str) -> (f64, f64) {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut rates = Vec::new();
    let mut p50s = Vec::new();
    for _ in 0..RUNS {
        let mut samples = Vec::new();
        let started = Instant::now();
        while started.elapsed() < RUN_FOR / 2 {
            let t = Instant::now();
            let _: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .expect("PING");
            samples.push(t.elapsed());
        }
        let s = support::stats(samples, started.elapsed());
        rates.push(s.per_second());
        p50s.push(s.p50.as_secs_f64() * 1e3);
    }
    (median(rates), median(p50s))
}

struct Row {
    calls_per_s: f64,
    p50_ms: f64,
    cpu_ms_per_call: f64,
    peak_rss_mb: f64,
}

/// `n` clients, each acquiring and releasing its own lock as fast as it can.
async fn pairs(d: &DaemonProc, transport: &'static str, n: usize) -> Row {
    let base = d.base();
    let mut clients = Vec::new();
    for i in 0..n {
        clients.push(Arc::new(
            connect(&base, transport, &format!("bench-{transport}-{i}")).await,
        ));
    }
    // Warm-up: every session registered, every connection open.
    for (i, c) in clients.iter().enumerate() {
        call(c, "acquire_lock", &format!("bench-{i}")).await;
        call(c, "release_lock", &format!("bench-{i}")).await;
    }
    let (mut rates, mut p50s, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let cpu0 = d.cpu();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let lock = format!("bench-{i}");
                let mut samples = Vec::new();
                while started.elapsed() < RUN_FOR {
                    for tool in ["acquire_lock", "release_lock"] {
                        let t = Instant::now();
                        call(&client, tool, &lock).await;
                        samples.push(t.elapsed());
                    }
                }
                samples
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("client task"));
        }
        let elapsed = started.elapsed();
        let cpu = d.cpu().saturating_sub(cpu0);
        let s = support::stats(all, elapsed);
        rates.push(s.per_second());
        p50s.push(s.p50.as_secs_f64() * 1e3);
        cpus.push(cpu.as_secs_f64() * 1e3 / s.calls as f64);
    }
    close_all(clients).await;
    Row {
        calls_per_s: median(rates),
        p50_ms: median(p50s),
        cpu_ms_per_call: median(cpus),
        peak_rss_mb: d.peak_rss_mb(),
    }
}

async fn close_all(clients: Vec<Arc<Client>>) {
    for c in clients {
        if let Ok(c) = Arc::try_unwrap(c) {
            let _ = c.cancel().await;
        }
    }
}

/// A fresh store for one daemon: an emptied Redis, or a new embedded data directory.
fn fresh_store(kind: &str, redis: &Redis, logs: &std::path::Path) -> StoreKind {
    match kind {
        "redis" => {
            redis.flush();
            StoreKind::Redis(redis.url())
        }
        _ => {
            let dir = tempfile::Builder::new()
                .prefix("store-")
                .tempdir_in(logs)
                .expect("data dir")
                .keep();
            StoreKind::Embedded(dir)
        }
    }
}

async fn throughput_section(redis: &Redis, logs: &std::path::Path) {
    section("Reference");
    let (rate, p50) = raw_ping(&redis.url()).await;
    println!(
        "| raw Redis PING round trip (1 connection) | {rate:.0} /s | p50 {:.1} µs |",
        p50 * 1e3
    );

    section(&format!(
        "acquire_lock + release_lock ({} s per run, each client on its own lock; a fresh daemon per row)",
        RUN_FOR.as_secs_f64()
    ));
    println!(
        "| store | transport | clients | calls/s | p50 ms | server CPU ms/call | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for store in ["redis", "embedded"] {
        for transport in TRANSPORTS {
            for n in CLIENTS {
                let d = DaemonProc::start(&fresh_store(store, redis, logs), &[], logs).await;
                let r = pairs(&d, transport, n).await;
                println!(
                    "| {store} | {transport} | {n} | {:.0} | {:.2} | {:.3} | {:.1} |",
                    r.calls_per_s, r.p50_ms, r.cpu_ms_per_call, r.peak_rss_mb
                );
            }
        }
    }

    section("Keep-alive client without quick-ACK (Node fetch, whoami ×40 on one connection)");
    for store in ["redis", "embedded"] {
        let d = DaemonProc::start(&fresh_store(store, redis, logs), &[], logs).await;
        let mut p50s = Vec::new();
        let mut note = None;
        for _ in 0..RUNS {
            match support::node_keepalive(&d.base(), 40).await {
                NodeRow::Ran { p50_ms, .. } => p50s.push(p50_ms),
                NodeRow::Skipped(why) | NodeRow::Failed(why) => {
                    note = Some(why);
                    break;
                }
            }
        }
        match note {
            Some(why) => {
                println!("| {store} | streamable-http | Node fetch keep-alive | skipped: {why} |")
            }
            None => println!(
                "| {store} | streamable-http | Node fetch keep-alive | p50 {:.2} ms |",
                median(p50s)
            ),
        }
    }
}

// ----------------------------------------------------------------------------------------
// 3: idle connections

/// Opens `n` MCP connections (initialized, idle) on `transport`, a few at a time.
async fn open_idle(base: &str, transport: &'static str, n: usize, round: usize) -> Vec<Client> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..(i + 25).min(n))
            .map(|k| {
                let base = base.to_string();
                tokio::spawn(async move {
                    connect(&base, transport, &format!("idle-{transport}-{round}-{k}")).await
                })
            })
            .collect();
        for t in batch {
            out.push(t.await.expect("connect task"));
        }
        i += 25;
    }
    out
}

/// Waits (bounded) until the daemon's descriptor count falls to `fds` (its connections closed).
async fn settle_fds(d: &DaemonProc, fds: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.fds() > fds + 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn idle_section(redis: &Redis, logs: &std::path::Path) {
    section(&format!(
        "Idle connections: {IDLE} SSE + {IDLE} Streamable-HTTP sessions (initialized, idle), {IDLE_ROUNDS} rounds, redis store"
    ));
    println!(
        "| round | RSS before MB | + {IDLE} SSE MB | KB per SSE | + {IDLE} HTTP MB | KB per HTTP session | daemon sockets open | {IDLE_CLOSE_AFTER_S} s later: MB, sockets | RSS 11 s after close MB | sockets left |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "(server.http_idle_seconds = {HTTP_IDLE_S} here: \"{IDLE_CLOSE_AFTER_S} s later\" is after the daemon closed \
         the clients' kept-alive idle POST connections; their streams stay)"
    );
    let idle_env = HTTP_IDLE_S.to_string();
    let d = DaemonProc::start(
        &fresh_store("redis", redis, logs),
        &[("MCP_COORD_HTTP_IDLE_SECONDS", idle_env.as_str())],
        logs,
    )
    .await;
    // One call first, so the store pool and lazily built parts are counted in "before".
    let warm = connect(&d.base(), "streamable-http", "idle-warm").await;
    call_with(&warm, "whoami", json!({})).await;
    let _ = warm.cancel().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base_fds = d.fds();
    for round in 1..=IDLE_ROUNDS {
        let before = d.rss_mb();
        let sse = open_idle(&d.base(), "sse", IDLE, round).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let with_sse = d.rss_mb();
        let http = open_idle(&d.base(), "streamable-http", IDLE, round).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let with_both = d.rss_mb();
        let fds = d.fds();
        tokio::time::sleep(Duration::from_secs(IDLE_CLOSE_AFTER_S)).await;
        let (later, later_fds) = (d.rss_mb(), d.fds().saturating_sub(base_fds));
        for c in sse.into_iter().chain(http) {
            let _ = c.cancel().await;
        }
        settle_fds(&d, base_fds).await;
        // The daemon gives freed memory back on its next 10 s look (src/ops/memory.rs).
        tokio::time::sleep(Duration::from_secs(11)).await;
        let after = d.rss_mb();
        println!(
            "| {round} | {before:.1} | {with_sse:.1} | {:.1} | {with_both:.1} | {:.1} | {} | {later:.1}, {later_fds} | {after:.1} | {} |",
            (with_sse - before) * 1024.0 / IDLE as f64,
            (with_both - with_sse) * 1024.0 / IDLE as f64,
            fds.saturating_sub(base_fds),
            d.fds().saturating_sub(base_fds),
        );
    }
    println!("(peak RSS of this daemon: {:.1} MB)", d.peak_rss_mb());
}

// ----------------------------------------------------------------------------------------
// 4: scale

fn store_settings(store: &StoreKind) -> Settings {
    let mut s = Settings::default();
    match store {
        StoreKind::Redis(url) => s.store.redis_url = url.clone(),
        StoreKind::Embedded(dir) => s.store.data_dir = dir.display().to_string(),
    }
    s.log.level = "warn".into();
    s
}

fn caller(session: String) -> Caller {
    Caller {
        connection_id: format!("bench-{session}"),
        session,
        transport: "bench",
        principal: Default::default(),
    }
}

/// Registers `sessions` sessions (`{prefix}_{i}`) with `locks` locks each, through the
/// service layer of a Coordinator in this process, `parallel` at a time.
async fn populate(coord: &Arc<Coordinator>, prefix: &str, sessions: usize, locks: usize) {
    let parallel = 32;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let (coord, next, prefix) = (coord.clone(), next.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= sessions {
                    return;
                }
                let c = caller(format!("{prefix}_{i}"));
                coord.touch(&c).await.expect("session registered");
                for j in 0..locks {
                    let args = AcquireLockArgs {
                        lock_name: format!("scale-{i}-{j}"),
                        timeout_seconds: Some(3600),
                        ..Default::default()
                    };
                    coord
                        .acquire_lock(&c, args, WaitContext::default())
                        .await
                        .expect("lock granted");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("populate task");
    }
}

/// Median wall time of `tool(args)` over 3 runs of 5 calls each, in ms (the median call),
/// and the daemon's CPU time per call over all 15 (ms; `/proc` counts in 10 ms ticks).
async fn time_tool(
    d: &DaemonProc,
    client: &Client,
    tool: &str,
    args: serde_json::Value,
) -> (f64, f64) {
    let mut runs = Vec::new();
    let cpu_before = d.cpu();
    for _ in 0..RUNS {
        let mut samples = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let params = CallToolRequestParams::new(tool.to_string())
                .with_arguments(args.as_object().cloned().unwrap_or_default());
            let r = client.call_tool(params).await.expect("tool call");
            assert!(r.is_error != Some(true), "{tool} refused: {r:?}");
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
        runs.push(median(samples));
    }
    let cpu = (d.cpu() - cpu_before).as_secs_f64() * 1e3 / (RUNS * 5) as f64;
    (median(runs), cpu)
}

/// Wall time of the `mcp-coord status` CLI (a process: start, connect, 3 calls, print).
fn time_status_cli(base: &str) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = std::process::Command::new(support::daemon_binary())
            .args(["status", "--url", base, "--json"])
            .env("COORD_SESSION", "bench-status-cli")
            .output()
            .expect("mcp-coord status runs");
        assert!(out.status.success(), "status failed: {out:?}");
        runs.push(t.elapsed().as_secs_f64() * 1e3);
    }
    median(runs)
}

async fn scale_section(redis: &Redis, logs: &std::path::Path) {
    section(&format!(
        "Scale: {SCALE_SESSIONS} live sessions holding {} locks (median call of 3×5)",
        SCALE_SESSIONS * LOCKS_PER_SESSION
    ));
    println!(
        "| store | list_sessions ms (CPU) | session_status ms (CPU) | list_locks ms (CPU) | `mcp-coord status` CLI ms | daemon RSS MB |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "(wall time of the median call at the client; in brackets the daemon's CPU ms per call; \
         list_locks answers its first page, {} locks)",
        mcp_coord::service::locks::DEFAULT_LIST_LIMIT
    );
    for store in ["redis", "embedded"] {
        let kind = fresh_store(store, redis, logs);
        {
            let s = store_settings(&kind);
            let st = mcp_coord::store::open(&s).await.expect("store");
            let coord = Coordinator::new(st.clone(), Arc::new(s));
            populate(&coord, "scale", SCALE_SESSIONS, LOCKS_PER_SESSION).await;
            st.shutdown().await.expect("store flushed");
        }
        let d = DaemonProc::start(&kind, &[], logs).await;
        let client = connect(&d.base(), "streamable-http", "scale-reader").await;
        let list = time_tool(&d, &client, "list_sessions", json!({})).await;
        let status = time_tool(&d, &client, "session_status", json!({})).await;
        let locks = time_tool(&d, &client, "list_locks", json!({})).await;
        let cli = time_status_cli(&d.base());
        println!(
            "| {store} | {:.2} ({:.1}) | {:.2} ({:.1}) | {:.2} ({:.1}) | {cli:.1} | {:.1} |",
            list.0,
            list.1,
            status.0,
            status.1,
            locks.0,
            locks.1,
            d.rss_mb()
        );
        let _ = client.cancel().await;
    }
}

/// A reaper pass over `REAPER_SESSIONS` sessions: once with all of them active (nothing to
/// do but look), once with all abandoned (each pass ends at most its batch of 1,000).
async fn reaper_rows(redis: &Redis, logs: &std::path::Path) {
    section(&format!(
        "Reaper over {REAPER_SESSIONS} sessions (in-process Coordinator; median of {RUNS})"
    ));
    println!(
        "| store | pass, all active ms | pass ending 1,000 abandoned ms | passes to end all | all ended in ms |"
    );
    println!("|---|---|---|---|---|");
    for store in ["redis", "embedded"] {
        let kind = fresh_store(store, redis, logs);
        let mut s = store_settings(&kind);
        s.sessions.active_seconds = 1;
        s.sessions.idle_seconds = 2;
        s.sessions.stale_seconds = 3;
        let st = mcp_coord::store::open(&s).await.expect("store");
        let coord = Coordinator::new(st.clone(), Arc::new(s));
        populate(&coord, "reap", REAPER_SESSIONS, 0).await;
        let mut quiet = Vec::new();
        for _ in 0..RUNS {
            coord.release_reaper().await;
            let t = Instant::now();
            coord.reap_once().await.expect("reaper pass");
            quiet.push(t.elapsed().as_secs_f64() * 1e3);
        }
        tokio::time::sleep(Duration::from_millis(3200)).await;
        let (mut passes, mut first, mut ended) = (0, None, 0);
        let t_all = Instant::now();
        while ended < REAPER_SESSIONS && passes < 40 {
            coord.release_reaper().await;
            let t = Instant::now();
            let report = coord.reap_once().await.expect("reaper pass");
            first.get_or_insert(t.elapsed().as_secs_f64() * 1e3);
            ended += report.ended.len();
            passes += 1;
            if report.ended.is_empty() {
                break;
            }
        }
        println!(
            "| {store} | {:.1} | {:.1} | {passes} | {:.0} (ended {ended}) |",
            median(quiet),
            first.unwrap_or(f64::NAN),
            t_all.elapsed().as_secs_f64() * 1e3
        );
        st.shutdown().await.expect("store shut down");
    }
}

/// Counts `notifications/resources/updated` a client receives.
#[derive(Clone)]
struct Counter(Arc<AtomicUsize>);

impl ClientHandler for Counter {
    async fn on_resource_updated(
        &self,
        _params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

async fn subscriber(
    base: &str,
    transport: &str,
    name: &str,
    counter: Counter,
) -> RunningService<RoleClient, Counter> {
    let client = if transport == "sse" {
        let t = support::sse_client::SseClientTransport::connect_with_headers(
            &format!("{base}/sse?session={name}"),
            http::HeaderMap::new(),
        )
        .await
        .expect("SSE connects");
        counter.serve(t).await.expect("MCP over SSE")
    } else {
        let mut headers = std::collections::HashMap::new();
        headers.insert(
            http::HeaderName::from_static("x-coord-session"),
            http::HeaderValue::from_str(name).expect("header"),
        );
        let config =
            rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
                format!("{base}/mcp"),
            )
            .custom_headers(headers);
        counter
            .serve(rmcp::transport::StreamableHttpClientTransport::from_config(
                config,
            ))
            .await
            .expect("MCP over Streamable HTTP")
    };
    #[allow(deprecated)]
    client
        .subscribe(SubscribeRequestParams::new("coord://locks"))
        .await
        .expect("subscribed");
    client
}

/// One lock change notified to `SUBSCRIBERS` subscribers of `coord://locks`: the time from
/// the call until the last one has it.
async fn fanout_rows(redis: &Redis, logs: &std::path::Path) {
    section(&format!(
        "Notification fan-out to {SUBSCRIBERS} subscribers of coord://locks (median of {RUNS})"
    ));
    println!(
        "| store | subscribers' transport | last notified after ms | daemon CPU ms per fan-out |"
    );
    println!("|---|---|---|---|");
    for transport in TRANSPORTS {
        let d = DaemonProc::start(&fresh_store("redis", redis, logs), &[], logs).await;
        let count = Arc::new(AtomicUsize::new(0));
        let mut subs = Vec::new();
        let mut i = 0;
        while i < SUBSCRIBERS {
            let batch: Vec<_> = (i..(i + 25).min(SUBSCRIBERS))
                .map(|k| {
                    let (base, counter) = (d.base(), Counter(count.clone()));
                    tokio::spawn(async move {
                        subscriber(&base, transport, &format!("sub-{transport}-{k}"), counter).await
                    })
                })
                .collect();
            for t in batch {
                subs.push(t.await.expect("subscriber task"));
            }
            i += 25;
        }
        let trigger = connect(&d.base(), "streamable-http", "fanout-trigger").await;
        let mut times = Vec::new();
        let mut cpus = Vec::new();
        let mut missed = 0;
        for (k, tool) in ["acquire_lock", "release_lock"]
            .iter()
            .cycle()
            .take(RUNS * 2)
            .enumerate()
        {
            let target = SUBSCRIBERS * (k + 1) - missed;
            let cpu = d.cpu();
            let t = Instant::now();
            call(&trigger, tool, "fanout").await;
            let deadline = t + Duration::from_secs(10);
            while count.load(Ordering::Relaxed) < target && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            let got = count.load(Ordering::Relaxed);
            if got < target {
                missed += target - got;
            }
            times.push(t.elapsed().as_secs_f64() * 1e3);
            cpus.push((d.cpu() - cpu).as_secs_f64() * 1e3);
        }
        println!(
            "| redis | {transport} | {:.1}{} | {:.0} |",
            median(times),
            if missed > 0 {
                format!(" ({missed} notifications missing)")
            } else {
                String::new()
            },
            median(cpus)
        );
        let _ = trigger.cancel().await;
        for s in subs {
            let _ = s.cancel().await;
        }
    }
}
