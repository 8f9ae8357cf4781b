//! Lock throughput and latency: `cargo bench --bench locks`.
//!
//! Starts its own redis-server on a free port and the daemon in-process, then measures, in
//! one run: a raw Redis PING round trip, the acquire script called directly through the
//! store, and acquire/release pairs through both MCP transports with 1, 8 and 32 concurrent
//! connections (each on its own lock, so the figures are the daemon's cost, not waiting);
//! then the same over Streamable HTTP on the embedded store, once per fsync policy
//! (`MCP_COORD_BENCH_EMBEDDED_ONLY=1` runs only those rows). Prints calls/s and p50/p99
//! per call. A keep-alive row runs `benches/node/keepalive_whoami.mjs` (Node's `fetch`, a
//! client that does not quick-ACK, calling `whoami` 40 times on one connection): without
//! `TCP_NODELAY` on the listener its p50 is ~40 ms. Without `node` the row is skipped with a
//! note. Nothing is asserted.
//!
//! `cargo test --all-targets` runs bench targets too; without `--bench` this exits at once.

mod support;

use std::time::{Duration, Instant};

use mcp_coord::config::{Settings, Sources};
use mcp_coord::store::locks::{AcquireOutcome, AcquireRequest};

use support::{NodeRow, Redis, Stats, call, connect, stats};

const RUN_FOR: Duration = Duration::from_secs(2);

fn print(label: &str, s: &Stats) {
    println!(
        "{label:<44} {:>9.0} calls/s   p50 {:>8.1} µs   p99 {:>8.1} µs   ({} calls)",
        s.per_second(),
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        s.calls
    );
}

async fn raw_ping(url: &str) -> Stats {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < RUN_FOR {
        let t = Instant::now();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .expect("PING");
        samples.push(t.elapsed());
    }
    stats(samples, started.elapsed())
}

async fn raw_acquire(settings: &Settings) -> Stats {
    let store = mcp_coord::store::open(settings).await.expect("store");
    let tiers = mcp_coord::service::policy::tier_thresholds(&settings.sessions);
    let req = AcquireRequest {
        name: "resource:bench-raw".into(),
        ancestors: Vec::new(),
        descendant_prefix: None,
        session: "bench".into(),
        ttl_ms: 60_000,
        reason: None,
        force: false,
        tiers,
        lock_delay_ms: 0,
        waiter: None,
    };
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < RUN_FOR {
        let t = Instant::now();
        match store.acquire(&req).await.expect("acquire") {
            AcquireOutcome::Granted(_) => {}
            AcquireOutcome::Refused(r) => panic!("refused: {r:?}"),
        }
        samples.push(t.elapsed());
        store
            .release(&req.name, "bench", tiers)
            .await
            .expect("release");
    }
    stats(samples, started.elapsed())
}

async fn mcp_pairs(base: &str, transport: &'static str, n: usize) -> Stats {
    let mut clients = Vec::new();
    for i in 0..n {
        // A name per row too: the previous row's sessions are still live, and a live session
        // is not taken over without its credential.
        let name = format!("bench-{transport}-{n}-{i}");
        clients.push(connect(base, transport, &name).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
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
            let _ = client.cancel().await;
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    stats(all, started.elapsed())
}

/// The Node keep-alive row: one `fetch` client, `whoami` 40 times on one connection.
async fn node_keepalive_row(base: &str, label: &str) {
    match support::node_keepalive(base, 40).await {
        NodeRow::Ran {
            p50_ms,
            p90_ms,
            max_ms,
            calls,
        } => println!(
            "{label:<44} p50 {p50_ms:>8.2} ms   p90 {p90_ms:>8.2} ms   max {max_ms:>8.2} ms   ({calls} calls)"
        ),
        NodeRow::Skipped(why) => println!("{label:<44} skipped: {why}"),
        NodeRow::Failed(why) => println!("{label:<44} failed: {why}"),
    }
}

fn main() {
    support::run(async {
        let embedded_only = std::env::var_os("MCP_COORD_BENCH_EMBEDDED_ONLY").is_some();
        if !embedded_only {
            redis_rows().await;
        }
        embedded_rows().await;
    });
}

/// Acquire+release over Streamable HTTP on the embedded store, per fsync policy.
async fn embedded_rows() {
    use mcp_coord::config::FsyncPolicy;
    for policy in [FsyncPolicy::Always, FsyncPolicy::Everysec, FsyncPolicy::No] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::default();
        settings.server.port = 0;
        settings.store.data_dir = dir.path().display().to_string();
        settings.store.fsync = policy;
        settings.log.format = "text".into();
        support::without_rate_limits(&mut settings);
        let daemon = mcp_coord::app::start(settings, &Sources(vec!["bench".into()]))
            .await
            .expect("daemon starts");
        let base = format!("http://{}", daemon.addr);
        if policy == FsyncPolicy::Everysec {
            node_keepalive_row(&base, "Node fetch keep-alive, whoami (embedded)").await;
        }
        for n in [1, 8, 32] {
            let s = mcp_pairs(&base, "streamable-http", n).await;
            print(
                &format!(
                    "embedded fsync={:<8} {n:>2} conns, acquire+release",
                    policy.as_str()
                ),
                &s,
            );
        }
        daemon.shutdown().await;
    }
}

async fn redis_rows() {
    {
        let redis = Redis::start();
        let mut settings = Settings::default();
        settings.server.port = 0;
        settings.store.redis_url = redis.url();
        settings.log.format = "text".into();
        support::without_rate_limits(&mut settings);
        let daemon = mcp_coord::app::start(settings.clone(), &Sources(vec!["bench".into()]))
            .await
            .expect("daemon starts");
        let base = format!("http://{}", daemon.addr);
        println!(
            "mcp-coord lock benchmark ({} s per row, redis {}, {} CPUs)",
            RUN_FOR.as_secs(),
            redis.url(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        print(
            "raw Redis PING (1 connection)",
            &raw_ping(&redis.url()).await,
        );
        print(
            "acquire script via the store (no MCP)",
            &raw_acquire(&settings).await,
        );
        for transport in ["streamable-http", "sse"] {
            for n in [1, 8, 32] {
                let s = mcp_pairs(&base, transport, n).await;
                print(
                    &format!("MCP {transport}, {n:>2} conns, acquire+release"),
                    &s,
                );
            }
        }
        node_keepalive_row(&base, "Node fetch keep-alive, whoami (redis)").await;
        daemon.shutdown().await;
    }
}
