//! Lock throughput and latency: `cargo bench --bench locks`.
//!
//! Starts its own redis-server on a free port and the daemon in-process, then measures, in
//! one run: a raw Redis PING round trip, the acquire script called directly through the
//! store, and acquire/release pairs through both MCP transports with 1, 8 and 32 concurrent
//! connections (each on its own lock, so the figures are the daemon's cost, not waiting);
//! then the same over Streamable HTTP on the embedded store, once per fsync policy
//! (`MCP_COORD_BENCH_EMBEDDED_ONLY=1` runs only those rows). Prints calls/s and p50/p99
//! per call. Nothing is asserted.
//!
//! `cargo test --all-targets` runs bench targets too; without `--bench` this exits at once.

// The legacy-SSE client transport of the test harness (self-contained), reused as is.
#[path = "../tests/it/support/sse_client.rs"]
mod sse_client;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mcp_coord::config::{Settings, Sources};
use mcp_coord::store::locks::{AcquireOutcome, AcquireRequest};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;

type Client = RunningService<RoleClient, ()>;

const RUN_FOR: Duration = Duration::from_secs(2);

/// A throwaway redis-server, killed on drop.
struct Redis(Child, u16);

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let r = Redis(child, port);
        let client = redis::Client::open(r.url()).expect("url");
        for _ in 0..500 {
            if let Ok(mut c) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return r;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.1)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Stats {
    calls: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>, elapsed: Duration) -> Stats {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Stats {
        calls: samples.len(),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

fn print(label: &str, s: &Stats) {
    println!(
        "{label:<44} {:>9.0} calls/s   p50 {:>8.1} µs   p99 {:>8.1} µs   ({} calls)",
        s.calls as f64 / s.elapsed.as_secs_f64(),
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

async fn connect(base: &str, transport: &str, name: &str) -> Client {
    if transport == "sse" {
        let t = sse_client::SseClientTransport::connect_with_headers(
            &format!("{base}/sse?session={name}"),
            http::HeaderMap::new(),
        )
        .await
        .expect("SSE connects");
        ().serve(t).await.expect("MCP over SSE")
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
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("MCP over Streamable HTTP")
    }
}

async fn call(client: &Client, tool: &str, lock: &str) {
    let args = json!({ "lock_name": lock });
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let r = client.call_tool(params).await.expect("tool call");
    assert!(r.is_error != Some(true), "{tool} {lock} refused: {r:?}");
}

async fn mcp_pairs(base: &str, transport: &'static str, n: usize) -> Stats {
    let mut clients = Vec::new();
    for i in 0..n {
        clients.push(connect(base, transport, &format!("bench-{transport}-{i}")).await);
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

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
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
        let daemon = mcp_coord::app::start(settings, &Sources(vec!["bench".into()]))
            .await
            .expect("daemon starts");
        let base = format!("http://{}", daemon.addr);
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
        daemon.shutdown().await;
    }
}
