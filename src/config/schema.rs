//! Every setting of the daemon: the types the TOML file, the environment and the flags
//! fill in, and the built-in defaults (`config/default.toml` documents the same values).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Every setting of the daemon. `config/default.toml` documents each one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub locks: LockSettings,
    pub sessions: SessionSettings,
    pub messages: MessageSettings,
    pub tmux: TmuxSettings,
    pub log: LogSettings,
    pub audit: AuditSettings,
    pub limits: LimitSettings,
    pub auth: AuthSettings,
    pub tls: TlsSettings,
}

/// HTTPS served by the daemon itself (issue 16): `[tls]`. Both paths or neither.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file with the server certificate, then any intermediates. Empty = plain HTTP.
    pub cert: String,
    /// PEM file with the certificate's private key (unencrypted).
    pub key: String,
}

impl TlsSettings {
    /// True when the daemon serves HTTPS (both paths are set; validation checks the pair).
    pub fn enabled(&self) -> bool {
        !self.cert.is_empty() && !self.key.is_empty()
    }

    /// `https` or `http`, for the URLs the daemon logs and the CLI prints.
    pub fn scheme(&self) -> &'static str {
        if self.enabled() { "https" } else { "http" }
    }
}

/// Authentication (issue 16): `[auth]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Every route but `/health` needs `Authorization: Bearer <token>` (required for a
    /// non-loopback `server.host`). Off: loopback stays zero-setup, tokens are optional.
    pub required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind; a non-loopback one is refused at start unless `auth.required` is set.
    pub host: String,
    pub port: u16,
    /// Browser origins allowed besides localhost ones (e.g. `https://dash.example:8443`).
    pub allowed_origins: Vec<String>,
    /// Host header values allowed besides loopback names.
    pub allowed_hosts: Vec<String>,
    /// Largest accepted HTTP request body (413 above).
    pub max_body_bytes: usize,
    /// Keep-alive comment interval on SSE streams.
    pub sse_keep_alive_seconds: u64,
    /// Messages buffered per legacy-SSE connection before a non-reading client is dropped.
    pub sse_queue: usize,
    /// A kept-alive HTTP connection with no request for this long is closed (0 = never). Open
    /// streams and requests in flight are not idle.
    pub http_idle_seconds: u64,
    /// Streamable-HTTP sessions idle this long are closed (0 = never). Agents sit idle for hours.
    pub mcp_idle_timeout_seconds: u64,
    /// How long shutdown waits for in-flight work before giving up.
    pub shutdown_grace_seconds: u64,
    /// Threads running the daemon's tasks (0 = one per core). One is the default: a tool
    /// call hops across several tasks, and on one thread those hops are not wake-ups of
    /// other threads (README "Performance": 20-35 % less CPU per call on 2 cores).
    pub worker_threads: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// `redis://…` to use Redis; empty means the embedded in-process store.
    pub redis_url: String,
    /// Prefix of every Redis key (`claude:` like the seed; `{claude}:` for Redis Cluster).
    pub key_prefix: String,
    /// Upper bound of every store call; past it the call fails as "store unavailable".
    pub timeout_ms: u64,
    /// Redis connection pool size.
    pub pool_size: usize,
    /// Where the embedded store keeps its SQLite file (empty = a per-user default).
    pub data_dir: String,
    /// Embedded store: when commits reach the disk surface (`always`, `everysec`, `no`).
    /// Every policy survives a crash of the daemon; they differ only on power loss.
    pub fsync: FsyncPolicy,
}

/// The embedded store's fsync policy, named after Redis's `appendfsync`. Every acknowledged
/// change is committed to SQLite (in the OS page cache) before the answer leaves, so a
/// killed or crashed daemon loses nothing under any policy; the policy decides what a power
/// loss or kernel crash can take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// `synchronous=FULL`: the WAL is fsynced at every commit, before the answer. Nothing
    /// acknowledged is lost even on power loss; each decision waits for the disk.
    Always,
    /// `synchronous=NORMAL` plus a checkpoint (which fsyncs the WAL) once a second when
    /// something was written: a power loss loses at most about the last second.
    #[default]
    Everysec,
    /// `synchronous=NORMAL`, no timer: the WAL reaches the disk when SQLite checkpoints
    /// (every ~1000 pages) or the OS writes it back. Still consistent after power loss.
    No,
}

impl FsyncPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::Everysec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LockSettings {
    pub default_timeout_seconds: u64,
    /// Every TTL is clamped to this (Redis itself would accept 292 000 years).
    pub max_timeout_seconds: u64,
    /// After a takeover or forced release nobody else gets the lock for this long.
    pub lock_delay_seconds: u64,
    /// Longest `wait_seconds` a caller may ask for.
    pub max_wait_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Below this age of last activity a session is `active` (seed: HEARTBEAT_TTL).
    pub active_seconds: u64,
    /// Below this it is `idle`; at or above, `stale`.
    pub idle_seconds: u64,
    /// At or above this it is `abandoned`: the reaper ends it and frees its locks.
    pub stale_seconds: u64,
    pub reaper_interval_seconds: u64,
    /// Children one master may have.
    pub max_children: usize,
    /// Depth of the session tree (1 = masters with children, no grandchildren).
    pub max_depth: usize,
    /// Ended sessions stay listable this long.
    pub ended_retention_seconds: u64,
    /// Status reports kept per session.
    pub status_history: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MessageSettings {
    pub max_bytes: usize,
    /// Messages kept per inbox (older ones are trimmed).
    pub inbox_cap: usize,
    /// An inbox nobody writes to expires after this long.
    pub inbox_ttl_seconds: u64,
    /// Longest `wait_seconds` / `timeout_seconds` a caller may ask for.
    pub max_wait_seconds: u64,
    /// Which messages wake an idle Claude Code agent through its `asyncRewake` hook
    /// (`task`, `question`, `reply`, `info`, `status`, `final`); empty = never woken.
    pub wake_kinds: Vec<String>,
}

/// tmux orchestration (`create_session`, `send_keys`, …). Every tmux call goes to one private
/// server (`tmux -L <socket>`), never the user's default one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TmuxSettings {
    /// Socket name given to `tmux -L` (`tmux -L mcp-coord ls` lists what we spawned).
    pub socket: String,
    /// The tmux program (a name looked up in PATH, or a path).
    pub binary: String,
    /// How long `send_keys` watches the pane for its Enter to take effect (per attempt).
    pub send_keys_verify_ms: u64,
    /// Longest `timeout_seconds` a `spawn_temp_session` may ask for.
    pub temp_session_max_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text`, `json`, or `auto` (json when started by systemd).
    pub format: String,
    /// A tracing filter, e.g. `info` or `mcp_coord=debug`.
    pub level: String,
}

/// The audit log (`audit_log`, `mcp-coord audit`): kept in the store, bounded by both limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Entries kept at most; the oldest go first.
    pub max_entries: usize,
    /// Entries older than this are dropped.
    pub max_age_seconds: u64,
    /// Also append each entry as one JSON line to this file (empty = no file).
    pub file: String,
}

/// Rate limits (`governor`): a runaway client is refused (HTTP 429 with `Retry-After`, or a
/// tool error on the legacy SSE transport) while the others keep working. 0 = no limit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Requests per second one MCP connection may make, sustained.
    pub calls_per_second: u32,
    /// How many it may make at once above that (the bucket size).
    pub calls_burst: u32,
    /// Requests per second from one client address on requests that belong to no MCP
    /// connection yet (hooks, `/events`, the dashboard, `/metrics`, opening a connection).
    /// Every loopback client shares 127.0.0.1.
    pub requests_per_second: u32,
    pub requests_burst: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            calls_per_second: 100,
            calls_burst: 500,
            requests_per_second: 200,
            requests_burst: 1000,
        }
    }
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_age_seconds: 30 * 24 * 3600,
            file: String::new(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8082,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: 256 * 1024,
            sse_keep_alive_seconds: 15,
            sse_queue: 256,
            http_idle_seconds: 60,
            mcp_idle_timeout_seconds: 7 * 24 * 3600,
            shutdown_grace_seconds: 5,
            worker_threads: 1,
        }
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            redis_url: String::new(),
            key_prefix: "claude:".into(),
            timeout_ms: 2000,
            pool_size: 32,
            data_dir: String::new(),
            fsync: FsyncPolicy::default(),
        }
    }
}

impl Default for LockSettings {
    fn default() -> Self {
        Self {
            default_timeout_seconds: 300,
            max_timeout_seconds: 24 * 3600,
            lock_delay_seconds: 5,
            max_wait_seconds: 3600,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            active_seconds: 300,
            idle_seconds: 3600,
            stale_seconds: 24 * 3600,
            reaper_interval_seconds: 30,
            max_children: 8,
            max_depth: 1,
            ended_retention_seconds: 24 * 3600,
            status_history: 100,
        }
    }
}

impl Default for MessageSettings {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            inbox_cap: 1000,
            inbox_ttl_seconds: 7 * 24 * 3600,
            max_wait_seconds: 3600,
            wake_kinds: crate::domain::wake::DEFAULT_WAKE_KINDS
                .iter()
                .map(|k| k.to_string())
                .collect(),
        }
    }
}

impl Default for TmuxSettings {
    fn default() -> Self {
        Self {
            socket: "mcp-coord".into(),
            binary: "tmux".into(),
            send_keys_verify_ms: 1500,
            temp_session_max_seconds: 3600,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "auto".into(),
            level: "info".into(),
        }
    }
}

impl Settings {
    /// The store kind these settings select, for logs and `/health`.
    pub fn store_kind(&self) -> &'static str {
        if self.store.redis_url.is_empty() {
            "embedded"
        } else {
            "redis"
        }
    }

    /// The embedded store's data directory: the setting, systemd's `STATE_DIRECTORY`,
    /// `$XDG_STATE_HOME/mcp-coord`, or `~/.local/state/mcp-coord`.
    pub fn data_dir(&self, env: &BTreeMap<String, String>) -> PathBuf {
        if !self.store.data_dir.is_empty() {
            return PathBuf::from(&self.store.data_dir);
        }
        if let Some(dir) = env.get("STATE_DIRECTORY").and_then(|d| d.split(':').next()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = env.get("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            return Path::new(dir).join("mcp-coord");
        }
        if let Some(home) = env.get("HOME").filter(|d| !d.is_empty()) {
            return Path::new(home).join(".local/state/mcp-coord");
        }
        PathBuf::from(".mcp-coord")
    }
}

/// `redis://user:secret@host` → `redis://user:***@host`, so logs never carry a password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_string(),
    }
}
