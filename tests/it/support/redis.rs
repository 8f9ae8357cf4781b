//! A private `redis-server` per test: a free port, no persistence, killed on drop.
//!
//! Tests never touch a Redis that happens to be running on the machine.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// With AOF (`appendfsync always`) in this directory: a restart keeps everything.
    aof_dir: Option<std::path::PathBuf>,
}

impl RedisServer {
    /// Starts a fresh server and waits until it answers PING.
    pub fn start() -> Self {
        let port = free_port();
        let mut server = Self {
            port,
            child: None,
            aof_dir: None,
        };
        server.spawn();
        server
    }

    /// A server with AOF on (`appendfsync always`, in its own temp dir): what it
    /// acknowledged survives [`RedisServer::restart`].
    pub fn start_persistent() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("mcp-coord-redis-aof-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let mut server = Self {
            port: free_port(),
            child: None,
            aof_dir: Some(dir),
        };
        server.spawn();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (as a crash would), keeping the port for [`RedisServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty unless started persistent).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let persistence: Vec<String> = match &self.aof_dir {
            Some(dir) => vec![
                "--appendonly".into(),
                "yes".into(),
                "--appendfsync".into(),
                "always".into(),
                "--dir".into(),
                dir.display().to_string(),
            ],
            None => vec!["--appendonly".into(), "no".into()],
        };
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ])
            .args(&persistence)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = ::redis::Client::open(self.url()).unwrap();
        loop {
            if let Ok(mut c) = client.get_connection()
                && ::redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A plain synchronous connection for assertions on keys.
    pub fn conn(&self) -> ::redis::Connection {
        ::redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
