//! The daemon as a real child process on a fixed port, for fault tests: it can be SIGKILLed
//! and started again on the same port (clients reconnect to the URL they had), and a daemon
//! that wedges shows up as unanswered requests in the test instead of hanging the test's own
//! runtime (as an in-process daemon would).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::binary;
use super::redis::free_port;

/// How long a start may take before the test gives up (a debug build on a loaded machine).
const START_WITHIN: Duration = Duration::from_secs(30);

pub struct DaemonProcess {
    child: Option<Child>,
    port: u16,
    /// Working directory, data directory of the embedded store, and the daemon's log.
    dir: PathBuf,
    env: Vec<(String, String)>,
    /// Starts so far (each writes its own log file).
    starts: u32,
}

impl DaemonProcess {
    /// A daemon on the Redis at `redis_url` (or on the embedded store in its own data
    /// directory when `None`), with extra environment variables (`MCP_COORD_*`).
    pub fn start(redis_url: Option<&str>, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("mcp-coord-proc-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let mut all: Vec<(String, String)> = vec![
            (
                "MCP_COORD_DATA_DIR".into(),
                dir.join("data").display().to_string(),
            ),
            ("MCP_COORD_LOG_FORMAT".into(), "text".into()),
            (
                "MCP_COORD_TMUX_SOCKET".into(),
                format!("mcp-coord-proc-{}", free_port()),
            ),
        ];
        if let Some(url) = redis_url {
            all.push(("REDIS_URL".into(), url.into()));
        }
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut d = Self {
            child: None,
            port: free_port(),
            dir,
            env: all,
            starts: 0,
        };
        d.spawn();
        d
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn sse_url(&self) -> String {
        format!("{}/sse", self.base())
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// SIGKILL: a crash, no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, as `systemctl stop` does: an orderly shutdown (the embedded store writes its
    /// last snapshot). Falls back to SIGKILL if it has not exited within 30 s.
    pub fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid; it has not been reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts it again on the same port and data directory (after [`Self::kill9`], or as a
    /// crash-restart when still running).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// An orderly restart (`systemctl restart`): SIGTERM, then start again.
    pub fn restart_clean(&mut self) {
        self.terminate();
        self.spawn();
    }

    /// The daemon's log of its latest start (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("daemon-{n}.log"))
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).expect("log file");
        let mut cmd = binary::command(&self.dir, &["serve", "--port", &self.port.to_string()]);
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("mcp-coord serve starts"));
        self.wait_until_answering();
    }

    /// Waits until `/health` answers (200 or 503: the daemon serves either way).
    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + START_WITHIN;
        let addr = format!("127.0.0.1:{}", self.port);
        while Instant::now() < deadline {
            assert!(
                self.is_running(),
                "the daemon exited during start:\n{}",
                self.log()
            );
            if health_status(&addr).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the daemon did not answer /health within {START_WITHIN:?}:\n{}",
            self.log()
        );
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The status code of `GET /health` on `addr`, or `None` when nothing answers within 5 s.
/// Plain blocking HTTP/1.1, so it works from any thread, runtime or not.
pub fn health_status(addr: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        conn,
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
