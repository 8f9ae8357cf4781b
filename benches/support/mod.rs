//! What the benches share: a throwaway redis-server, MCP clients on both transports, the
//! daemon as its own process (so its CPU time and memory can be read from `/proc`), sample
//! statistics, and the Node keep-alive client row.
//!
//! Each bench uses only part of it.
#![allow(dead_code)]

// The legacy-SSE client transport of the test harness (self-contained), reused as is.
#[path = "../../tests/it/support/sse_client.rs"]
pub mod sse_client;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};

pub type Client = RunningService<RoleClient, ()>;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A throwaway redis-server, killed on drop.
pub struct Redis(Child, u16);

impl Redis {
    pub fn start() -> Redis {
        let port = free_port();
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

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.1)
    }

    /// Empties the database (between rows, so each starts from nothing).
    pub fn flush(&self) {
        let client = redis::Client::open(self.url()).expect("url");
        let mut c = client.get_connection().expect("redis connection");
        let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("FLUSHALL");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Stats {
    pub calls: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

pub fn stats(mut samples: Vec<Duration>, elapsed: Duration) -> Stats {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Stats {
        calls: samples.len(),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// The median of a few figures (the benches run each row 3 times on a shared machine).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    if xs.is_empty() {
        f64::NAN
    } else {
        xs[xs.len() / 2]
    }
}

/// An MCP client acting as session `name`, over `transport` (`sse` or `streamable-http`).
pub async fn connect(base: &str, transport: &str, name: &str) -> Client {
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
        // A pooled client, as Claude Code's keeps its connections: rmcp's default client
        // (`from_config`) disables pooling and opens a TCP connection for every POST.
        let pooled = reqwest::Client::new();
        ().serve(StreamableHttpClientTransport::with_client(pooled, config))
            .await
            .expect("MCP over Streamable HTTP")
    }
}

/// Calls `tool` with `args`; a refusal or error panics (the benches only make calls that succeed).
pub async fn call_with(client: &Client, tool: &str, args: serde_json::Value) {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let r = client.call_tool(params).await.expect("tool call");
    assert!(r.is_error != Some(true), "{tool} refused: {r:?}");
}

/// `tool(lock_name = lock)`.
pub async fn call(client: &Client, tool: &str, lock: &str) {
    call_with(client, tool, serde_json::json!({ "lock_name": lock })).await;
}

/// What the Node keep-alive client measured, or why it did not run.
pub enum NodeRow {
    Ran {
        p50_ms: f64,
        p90_ms: f64,
        max_ms: f64,
        calls: u64,
    },
    Skipped(String),
    Failed(String),
}

/// Runs `benches/node/keepalive_whoami.mjs`: Node's `fetch` (keep-alive, no quick-ACK)
/// calling `whoami` `calls` times on one connection to `base`.
pub async fn node_keepalive(base: &str, calls: usize) -> NodeRow {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/node/keepalive_whoami.mjs"
    );
    let out = match tokio::process::Command::new("node")
        .args([script, base, &calls.to_string()])
        .output()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return NodeRow::Skipped(format!(
                "cannot run `node` ({e}); install Node.js for this row"
            ));
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed: Option<serde_json::Value> = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    match parsed {
        Some(v) if out.status.success() => NodeRow::Ran {
            p50_ms: v["p50_ms"].as_f64().unwrap_or(f64::NAN),
            p90_ms: v["p90_ms"].as_f64().unwrap_or(f64::NAN),
            max_ms: v["max_ms"].as_f64().unwrap_or(f64::NAN),
            calls: v["calls"].as_u64().unwrap_or(0),
        },
        _ => NodeRow::Failed(format!(
            "{} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Which store a daemon process runs on.
#[derive(Clone)]
pub enum StoreKind {
    Redis(String),
    /// The embedded store in this data directory.
    Embedded(PathBuf),
}

impl StoreKind {
    pub fn label(&self) -> &'static str {
        match self {
            StoreKind::Redis(_) => "redis",
            StoreKind::Embedded(_) => "embedded",
        }
    }
}

/// The daemon binary the benches start: `MCP_COORD_BENCH_DAEMON` (a saved older build, to
/// compare before and after a change), else the one `cargo bench` built.
pub fn daemon_binary() -> PathBuf {
    std::env::var_os("MCP_COORD_BENCH_DAEMON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mcp-coord")))
}

/// The release daemon as its own process (`cargo bench` builds it), killed on drop.
pub struct DaemonProc {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl DaemonProc {
    /// Starts `mcp-coord serve` on a free port with `store` and extra environment `env`;
    /// returns once `/health` answers.
    pub async fn start(store: &StoreKind, env: &[(&str, &str)], log_dir: &std::path::Path) -> Self {
        let port = free_port();
        let log = log_dir.join(format!("daemon-{port}.log"));
        let out = std::fs::File::create(&log).expect("daemon log file");
        // No rate limits: one bench connection makes thousands of calls a second, and a
        // thousand connections open at once — what the limits exist to refuse.
        let config = log_dir.join("bench.toml");
        std::fs::write(
            &config,
            "[limits]\ncalls_per_second = 0\nrequests_per_second = 0\n",
        )
        .expect("bench config");
        let mut cmd = Command::new(daemon_binary());
        cmd.env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            // Compare worker counts: MCP_COORD_BENCH_WORKERS=2 cargo bench --bench perf.
            .envs(
                std::env::var("MCP_COORD_BENCH_WORKERS")
                    .ok()
                    .map(|w| ("MCP_COORD_WORKER_THREADS", w)),
            )
            .args(["serve", "--port", &port.to_string(), "--log-format", "text"])
            .arg("--config")
            .arg(&config);
        match store {
            StoreKind::Redis(url) => {
                cmd.args(["--redis-url", url]);
            }
            StoreKind::Embedded(dir) => {
                cmd.env("MCP_COORD_DATA_DIR", dir);
            }
        }
        // Run in the log directory: no `config/default.toml` or `.env` of the caller's
        // working directory changes the daemon's settings.
        cmd.current_dir(log_dir)
            .envs(env.iter().copied())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .stdin(Stdio::null());
        let child = cmd.spawn().expect("the mcp-coord binary starts");
        let d = DaemonProc { child, port, log };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/health", d.base())).send().await
                && r.status().is_success()
            {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the daemon did not answer /health; see {}", d.log.display());
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU time the daemon has used so far.
    pub fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("/proc/<pid>/stat");
        // Fields after the `(comm)` part, which may itself contain spaces.
        let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
        let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_micros(ticks * 1_000_000 / hz)
    }

    /// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in MB.
    pub fn status_mb(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    pub fn rss_mb(&self) -> f64 {
        self.status_mb("VmRSS")
    }

    pub fn peak_rss_mb(&self) -> f64 {
        self.status_mb("VmHWM")
    }

    /// Open file descriptors of the daemon (its sockets, mostly).
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }
}

impl Drop for DaemonProc {
    fn drop(&mut self) {
        // SIGTERM first (a clean stop flushes the embedded store), then make sure.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a bench's body on a daemon-style runtime (`mcp_coord::runtime`) with one worker per
/// core (it is the load generator too), and only under `cargo bench`: `cargo test
/// --all-targets` also starts bench binaries, without `--bench`, and they must return at
/// once there.
pub fn run(body: impl std::future::Future<Output = ()>) {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    mcp_coord::runtime::build(mcp_coord::runtime::Flavor::Daemon { worker_threads: 0 })
        .expect("runtime")
        .block_on(body);
}

/// Rate limits off for an in-process bench daemon: one bench connection makes thousands of
/// calls a second — what the limits exist to refuse.
pub fn without_rate_limits(settings: &mut mcp_coord::config::Settings) {
    settings.limits.calls_per_second = 0;
    settings.limits.requests_per_second = 0;
}
