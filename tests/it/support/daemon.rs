//! The daemon, in-process on port 0.

use mcp_coord::app::{Daemon, start};
use mcp_coord::config::{Settings, Sources};

use super::redis::RedisServer;

pub struct TestDaemon {
    pub daemon: Option<Daemon>,
    pub base: String,
}

impl TestDaemon {
    /// A daemon on the given Redis, with `tweak` applied to its settings.
    pub async fn on_redis(redis: &RedisServer, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut s = test_settings();
        s.store.redis_url = redis.url();
        tweak(&mut s);
        Self::start(s).await
    }

    /// A daemon on the embedded store.
    pub async fn embedded(tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut s = test_settings();
        tweak(&mut s);
        Self::start(s).await
    }

    pub async fn start(settings: Settings) -> Self {
        settings.validate().expect("test settings must be valid");
        let scheme = settings.tls.scheme();
        let daemon = start(settings, &Sources(vec!["test".into()]))
            .await
            .expect("daemon starts");
        let base = format!("{scheme}://{}", daemon.addr);
        Self {
            daemon: Some(daemon),
            base,
        }
    }

    pub fn sse_url(&self) -> String {
        format!("{}/sse", self.base)
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// `Bearer <the daemon's bootstrap admin token>` (the `admin.token` file it wrote in its
    /// state dir), for an `Authorization` header.
    pub fn admin_bearer(&self) -> String {
        let dir = &self.coord().settings().store.data_dir;
        let token = std::fs::read_to_string(std::path::Path::new(dir).join("admin.token"))
            .expect("the daemon wrote its admin token");
        format!("Bearer {}", token.trim())
    }

    pub fn coord(&self) -> &std::sync::Arc<mcp_coord::service::Coordinator> {
        &self.daemon.as_ref().unwrap().coord
    }

    pub async fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown().await;
        }
    }
}

/// Settings for tests: port 0, short timeouts, a unique key prefix.
pub fn test_settings() -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.shutdown_grace_seconds = 3;
    s.store.timeout_ms = 500;
    s.log.format = "text".into();
    // Each test's embedded store gets its own data directory (they are claimed exclusively).
    let dir = tempfile::Builder::new()
        .prefix("mcp-coord-test-")
        .tempdir()
        .expect("temp dir");
    s.store.data_dir = dir.keep().display().to_string();
    // Never the real `mcp-coord` tmux socket: a test that spawns sets its own (support/tmux.rs).
    s.tmux.socket = format!(
        "mcp-coord-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    s
}
