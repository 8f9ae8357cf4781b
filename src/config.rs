//! Settings, layered: built-in defaults < `config/default.toml` < `--config FILE` < `.env`
//! < environment < command-line flags.
//!
//! Environment variables are an explicit table ([`ENV_VARS`]) rather than a generic
//! `PREFIX__SECTION__KEY` mapping: users read `.env.example` and `systemctl edit`, and a
//! short flat name (`MCP_COORD_PORT`) is what they expect. The seed names (`REDIS_URL`,
//! `SERVER_PORT`, `DEFAULT_LOCK_TIMEOUT`, `HEARTBEAT_TTL`) keep working.

use std::collections::BTreeMap;
use std::net::IpAddr;
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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind. Loopback only until token auth exists.
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
    /// Streamable-HTTP sessions idle this long are closed (0 = never). Agents sit idle for hours.
    pub mcp_idle_timeout_seconds: u64,
    /// How long shutdown waits for in-flight work before giving up.
    pub shutdown_grace_seconds: u64,
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
    /// Where the embedded store keeps its snapshot (empty = a per-user default).
    pub data_dir: String,
    /// Embedded store: how often state is snapshotted to disk.
    pub snapshot_interval_seconds: u64,
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
            mcp_idle_timeout_seconds: 7 * 24 * 3600,
            shutdown_grace_seconds: 5,
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
            snapshot_interval_seconds: 10,
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

/// One environment variable and the setting it sets.
pub struct EnvVar {
    pub name: &'static str,
    pub key: &'static str,
    pub help: &'static str,
}

/// Every environment variable the daemon reads. `.env.example` lists the same (a test checks).
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: "REDIS_URL",
        key: "store.redis_url",
        help: "Redis URL; unset or empty = embedded store",
    },
    EnvVar {
        name: "SERVER_PORT",
        key: "server.port",
        help: "port to listen on (seed name)",
    },
    EnvVar {
        name: "DEFAULT_LOCK_TIMEOUT",
        key: "locks.default_timeout_seconds",
        help: "lock TTL when the caller gives none (seed name)",
    },
    EnvVar {
        name: "HEARTBEAT_TTL",
        key: "sessions.active_seconds",
        help: "seconds a session stays active after its last activity (seed name)",
    },
    EnvVar {
        name: "MCP_COORD_HOST",
        key: "server.host",
        help: "address to bind (loopback only)",
    },
    EnvVar {
        name: "MCP_COORD_PORT",
        key: "server.port",
        help: "port to listen on (wins over SERVER_PORT)",
    },
    EnvVar {
        name: "MCP_COORD_ALLOWED_ORIGINS",
        key: "server.allowed_origins",
        help: "comma-separated extra browser origins",
    },
    EnvVar {
        name: "MCP_COORD_ALLOWED_HOSTS",
        key: "server.allowed_hosts",
        help: "comma-separated extra Host header values",
    },
    EnvVar {
        name: "MCP_COORD_MAX_BODY_BYTES",
        key: "server.max_body_bytes",
        help: "largest HTTP request body",
    },
    EnvVar {
        name: "MCP_COORD_MCP_IDLE_TIMEOUT",
        key: "server.mcp_idle_timeout_seconds",
        help: "close idle Streamable-HTTP sessions after this many seconds (0 = never)",
    },
    EnvVar {
        name: "MCP_COORD_REDIS_URL",
        key: "store.redis_url",
        help: "same as REDIS_URL (wins over it)",
    },
    EnvVar {
        name: "MCP_COORD_KEY_PREFIX",
        key: "store.key_prefix",
        help: "prefix of every Redis key",
    },
    EnvVar {
        name: "MCP_COORD_STORE_TIMEOUT_MS",
        key: "store.timeout_ms",
        help: "upper bound of every store call",
    },
    EnvVar {
        name: "MCP_COORD_DATA_DIR",
        key: "store.data_dir",
        help: "embedded store's data directory",
    },
    EnvVar {
        name: "MCP_COORD_LOCK_MAX_TIMEOUT",
        key: "locks.max_timeout_seconds",
        help: "longest lock TTL",
    },
    EnvVar {
        name: "MCP_COORD_LOCK_DELAY",
        key: "locks.lock_delay_seconds",
        help: "lock-delay after a takeover",
    },
    EnvVar {
        name: "MCP_COORD_IDLE_AFTER",
        key: "sessions.active_seconds",
        help: "same as HEARTBEAT_TTL (wins over it)",
    },
    EnvVar {
        name: "MCP_COORD_STALE_AFTER",
        key: "sessions.idle_seconds",
        help: "seconds of inactivity before a session is stale",
    },
    EnvVar {
        name: "MCP_COORD_ABANDONED_AFTER",
        key: "sessions.stale_seconds",
        help: "seconds of inactivity before a session is abandoned",
    },
    EnvVar {
        name: "MCP_COORD_REAPER_INTERVAL",
        key: "sessions.reaper_interval_seconds",
        help: "seconds between reaper runs",
    },
    EnvVar {
        name: "MCP_COORD_MAX_CHILDREN",
        key: "sessions.max_children",
        help: "children one master may have",
    },
    EnvVar {
        name: "MCP_COORD_TMUX_SOCKET",
        key: "tmux.socket",
        help: "tmux socket name (tmux -L) for spawned sessions",
    },
    EnvVar {
        name: "MCP_COORD_LOG_FORMAT",
        key: "log.format",
        help: "text, json or auto",
    },
    EnvVar {
        name: "MCP_COORD_LOG",
        key: "log.level",
        help: "tracing filter, e.g. info or mcp_coord=debug",
    },
];

/// Keys whose value is a list; the environment gives them comma-separated.
const LIST_KEYS: &[&str] = &["server.allowed_origins", "server.allowed_hosts"];

/// Where the settings came from, in the order they were applied (logged at start).
#[derive(Debug, Clone, Default)]
pub struct Sources(pub Vec<String>);

impl std::fmt::Display for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" < "))
    }
}

/// A setting that cannot be used. Shown to the user, who fixes it and starts again.
#[derive(Debug, thiserror::Error)]
#[error("bad setting {setting}: {problem}; allowed: {allowed}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
    pub allowed: String,
}

impl ConfigError {
    fn new(setting: &str, problem: impl Into<String>, allowed: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            problem: problem.into(),
            allowed: allowed.into(),
        }
    }
}

/// Inputs to loading: explicit so tests never depend on the process environment.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// Directory searched for `config/default.toml` and `.env` (usually the working directory).
    pub base_dir: Option<PathBuf>,
    /// Environment variables to read (the process environment in production).
    pub env: BTreeMap<String, String>,
    /// Flag overrides as (setting key, value), applied last.
    pub overrides: Vec<(String, String)>,
    /// Read `.env` from `base_dir` into the environment view (not into the process).
    pub read_dotenv: bool,
}

impl LoadOptions {
    /// The options a real start uses: this process's environment, the working directory.
    pub fn from_process(config_file: Option<PathBuf>, overrides: Vec<(String, String)>) -> Self {
        Self {
            config_file,
            base_dir: std::env::current_dir().ok(),
            env: std::env::vars().collect(),
            overrides,
            read_dotenv: true,
        }
    }
}

impl Settings {
    /// Builds the settings from every layer and validates them.
    pub fn load(opts: &LoadOptions) -> Result<(Settings, Sources), ConfigError> {
        let mut sources = Sources(vec!["defaults".into()]);
        let defaults = config::Config::try_from(&Settings::default())
            .map_err(|e| ConfigError::new("defaults", e.to_string(), "-"))?;
        let mut builder = config::Config::builder().add_source(defaults);

        if let Some(base) = &opts.base_dir {
            let default_toml = base.join("config/default.toml");
            if default_toml.is_file() {
                builder = builder.add_source(config::File::from(default_toml.as_path()));
                sources.0.push(default_toml.display().to_string());
            }
        }
        if let Some(file) = &opts.config_file {
            if !file.is_file() {
                return Err(ConfigError::new(
                    "--config",
                    format!("{} does not exist or is not a file", file.display()),
                    "a path to a TOML file like config/default.toml",
                ));
            }
            builder = builder.add_source(config::File::from(file.as_path()));
            sources.0.push(file.display().to_string());
        }

        // `.env` fills in variables the real environment does not set (dotenv semantics).
        let mut env = opts.env.clone();
        if opts.read_dotenv
            && let Some(base) = &opts.base_dir
        {
            let dotenv = base.join(".env");
            if dotenv.is_file() {
                let iter = dotenvy::from_path_iter(&dotenv)
                    .map_err(|e| ConfigError::new(".env", e.to_string(), "KEY=value lines"))?;
                for item in iter {
                    let (k, v) = item
                        .map_err(|e| ConfigError::new(".env", e.to_string(), "KEY=value lines"))?;
                    env.entry(k).or_insert(v);
                }
                sources.0.push(dotenv.display().to_string());
            }
        }

        let mut from_env = Vec::new();
        for var in ENV_VARS {
            let Some(value) = env.get(var.name) else {
                continue;
            };
            builder = set_value(builder, var.key, value, var.name)?;
            from_env.push(var.name);
        }
        if !from_env.is_empty() {
            sources.0.push(format!("env ({})", from_env.join(", ")));
        }
        if !opts.overrides.is_empty() {
            for (key, value) in &opts.overrides {
                builder = set_value(builder, key, value, key)?;
            }
            let keys: Vec<_> = opts.overrides.iter().map(|(k, _)| k.as_str()).collect();
            sources.0.push(format!("flags ({})", keys.join(", ")));
        }

        let built = builder
            .build()
            .map_err(|e| ConfigError::new("config", e.to_string(), "see config/default.toml"))?;
        let settings: Settings = built.try_deserialize().map_err(|e| {
            ConfigError::new(
                "config",
                e.to_string(),
                "the types and names in config/default.toml",
            )
        })?;
        settings.validate()?;
        Ok((settings, sources))
    }

    /// Checks what types alone cannot: ranges, orderings, the bind address.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let host: IpAddr = self.server.host.parse().map_err(|_| {
            ConfigError::new(
                "server.host",
                format!("{:?} is not an IP address", self.server.host),
                "127.0.0.1 or ::1",
            )
        })?;
        if !host.is_loopback() {
            return Err(ConfigError::new(
                "server.host",
                format!(
                    "{host} is not a loopback address, and token auth is not available yet, so \
                     anyone who can reach it could take and release every lock"
                ),
                "127.0.0.1 or ::1 (reach it from elsewhere through an SSH tunnel)",
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::new(
                "server.max_body_bytes",
                format!(
                    "{} is too small for any MCP request",
                    self.server.max_body_bytes
                ),
                "at least 1024",
            ));
        }
        if self.server.sse_queue == 0 {
            return Err(ConfigError::new("server.sse_queue", "0", "1 or more"));
        }
        if self.server.sse_keep_alive_seconds == 0 {
            return Err(ConfigError::new(
                "server.sse_keep_alive_seconds",
                "0",
                "1 or more",
            ));
        }
        let url = &self.store.redis_url;
        let known_scheme = ["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        if !url.is_empty() && !known_scheme {
            return Err(ConfigError::new(
                "store.redis_url",
                format!("{:?} is not a Redis URL", self.store.redis_url),
                "redis://HOST:PORT/DB, rediss://…, unix:///path/redis.sock, or empty for the embedded store",
            ));
        }
        validate_key_prefix(&self.store.key_prefix)?;
        if self.store.timeout_ms == 0 || self.store.timeout_ms > 60_000 {
            return Err(ConfigError::new(
                "store.timeout_ms",
                self.store.timeout_ms.to_string(),
                "1 to 60000",
            ));
        }
        if self.store.pool_size == 0 {
            return Err(ConfigError::new("store.pool_size", "0", "1 or more"));
        }
        if self.store.snapshot_interval_seconds == 0 {
            return Err(ConfigError::new(
                "store.snapshot_interval_seconds",
                "0",
                "1 or more",
            ));
        }
        let l = &self.locks;
        if l.max_timeout_seconds == 0 {
            return Err(ConfigError::new(
                "locks.max_timeout_seconds",
                "0",
                "1 or more",
            ));
        }
        if l.default_timeout_seconds == 0 || l.default_timeout_seconds > l.max_timeout_seconds {
            return Err(ConfigError::new(
                "locks.default_timeout_seconds",
                l.default_timeout_seconds.to_string(),
                format!("1 to locks.max_timeout_seconds ({})", l.max_timeout_seconds),
            ));
        }
        let s = &self.sessions;
        if !(0 < s.active_seconds
            && s.active_seconds < s.idle_seconds
            && s.idle_seconds < s.stale_seconds)
        {
            return Err(ConfigError::new(
                "sessions.active_seconds/idle_seconds/stale_seconds",
                format!(
                    "{} / {} / {} are not increasing",
                    s.active_seconds, s.idle_seconds, s.stale_seconds
                ),
                "0 < active_seconds < idle_seconds < stale_seconds",
            ));
        }
        if s.reaper_interval_seconds == 0 {
            return Err(ConfigError::new(
                "sessions.reaper_interval_seconds",
                "0",
                "1 or more",
            ));
        }
        if s.max_depth == 0 {
            return Err(ConfigError::new("sessions.max_depth", "0", "1 or more"));
        }
        if s.status_history == 0 {
            return Err(ConfigError::new(
                "sessions.status_history",
                "0",
                "1 or more",
            ));
        }
        let m = &self.messages;
        if m.max_bytes == 0 || m.max_bytes > self.server.max_body_bytes {
            return Err(ConfigError::new(
                "messages.max_bytes",
                m.max_bytes.to_string(),
                format!(
                    "1 to server.max_body_bytes ({})",
                    self.server.max_body_bytes
                ),
            ));
        }
        if m.inbox_cap == 0 {
            return Err(ConfigError::new("messages.inbox_cap", "0", "1 or more"));
        }
        if let Err(e) = crate::domain::wake::WakePolicy::parse(&m.wake_kinds) {
            return Err(ConfigError::new(
                "messages.wake_kinds",
                e,
                format!(
                    "a list of {} (empty: never wake)",
                    crate::domain::wake::WAKE_NAMES.join(", ")
                ),
            ));
        }
        validate_tmux(&self.tmux)?;
        match self.log.format.as_str() {
            "text" | "json" | "auto" => {}
            other => {
                return Err(ConfigError::new(
                    "log.format",
                    format!("{other:?}"),
                    "text, json or auto",
                ));
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::new(
                "log.level",
                format!("{:?} is not a tracing filter", self.log.level),
                "error, warn, info, debug, trace, or directives like mcp_coord=debug",
            ));
        }
        Ok(())
    }

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

/// Key prefixes end up in every key; keep them to characters that need no quoting in
/// `redis-cli` and cannot act as glob patterns.
fn validate_key_prefix(prefix: &str) -> Result<(), ConfigError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.' | '{' | '}'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            "store.key_prefix",
            format!("{prefix:?}"),
            "1-64 characters of letters, digits and : _ - . { } (e.g. claude: or {claude}:)",
        ))
    }
}

/// The socket name becomes a file name under tmux's socket directory; keep it to characters
/// that cannot climb out of it or need quoting when a user types `tmux -L NAME`.
fn validate_tmux(t: &TmuxSettings) -> Result<(), ConfigError> {
    let ok = !t.socket.is_empty()
        && t.socket.len() <= 64
        && t.socket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !t.socket.starts_with('.');
    if !ok {
        return Err(ConfigError::new(
            "tmux.socket",
            format!("{:?}", t.socket),
            "1-64 characters of letters, digits, '_', '-' and '.', not starting with '.'",
        ));
    }
    if t.binary.trim().is_empty() {
        return Err(ConfigError::new(
            "tmux.binary",
            "empty",
            "a program name found in PATH (tmux) or a path (/usr/bin/tmux)",
        ));
    }
    if !(50..=60_000).contains(&t.send_keys_verify_ms) {
        return Err(ConfigError::new(
            "tmux.send_keys_verify_ms",
            t.send_keys_verify_ms.to_string(),
            "50 to 60000",
        ));
    }
    if t.temp_session_max_seconds == 0 {
        return Err(ConfigError::new(
            "tmux.temp_session_max_seconds",
            "0",
            "1 or more",
        ));
    }
    Ok(())
}

fn set_value(
    builder: config::ConfigBuilder<config::builder::DefaultState>,
    key: &str,
    value: &str,
    origin: &str,
) -> Result<config::ConfigBuilder<config::builder::DefaultState>, ConfigError> {
    let result = if LIST_KEYS.contains(&key) {
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        builder.set_override(key, items)
    } else {
        builder.set_override(key, value)
    };
    result.map_err(|e| ConfigError::new(origin, e.to_string(), "see config/default.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(env: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_valid() {
        let (s, sources) = Settings::load(&opts(&[])).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.server.port, 8082);
        assert_eq!(s.store_kind(), "embedded");
        assert_eq!(sources.to_string(), "defaults");
    }

    #[test]
    fn seed_variables_work() {
        let (s, sources) = Settings::load(&opts(&[
            ("REDIS_URL", "redis://127.0.0.1:6390/0"),
            ("SERVER_PORT", "9000"),
            ("DEFAULT_LOCK_TIMEOUT", "600"),
            ("HEARTBEAT_TTL", "120"),
        ]))
        .unwrap();
        assert_eq!(s.store.redis_url, "redis://127.0.0.1:6390/0");
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.locks.default_timeout_seconds, 600);
        assert_eq!(s.sessions.active_seconds, 120);
        assert_eq!(s.store_kind(), "redis");
        assert!(sources.to_string().contains("REDIS_URL"));
    }

    #[test]
    fn later_layers_win() {
        let mut o = opts(&[("SERVER_PORT", "9000"), ("MCP_COORD_PORT", "9001")]);
        let (s, _) = Settings::load(&o).unwrap();
        assert_eq!(s.server.port, 9001, "MCP_COORD_PORT is later in the table");
        o.overrides.push(("server.port".into(), "9002".into()));
        let (s, _) = Settings::load(&o).unwrap();
        assert_eq!(s.server.port, 9002, "flags win over the environment");
    }

    #[test]
    fn config_file_and_dotenv_layers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/default.toml"),
            "[server]\nport = 7000\n[locks]\nlock_delay_seconds = 2\n",
        )
        .unwrap();
        let extra = dir.path().join("extra.toml");
        std::fs::write(&extra, "[server]\nport = 7001\n").unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "DEFAULT_LOCK_TIMEOUT=42\nSERVER_PORT=7002\n",
        )
        .unwrap();
        let mut o = opts(&[("SERVER_PORT", "7003")]);
        o.base_dir = Some(dir.path().to_path_buf());
        o.read_dotenv = true;
        let (s, sources) = Settings::load(&o).unwrap();
        assert_eq!(s.server.port, 7003, "real environment wins over .env");
        assert_eq!(
            s.locks.default_timeout_seconds, 42,
            ".env fills what env lacks"
        );
        assert_eq!(s.locks.lock_delay_seconds, 2, "config/default.toml applies");
        o.config_file = Some(extra);
        o.env.clear();
        let (s, _) = Settings::load(&o).unwrap();
        assert_eq!(s.server.port, 7002, ".env wins over --config");
        assert!(sources.0.len() >= 3);
    }

    #[test]
    fn bad_settings_name_the_setting_and_the_allowed_values() {
        let cases: &[(&str, &str, &str)] = &[
            ("SERVER_PORT", "eighty", "port"),
            ("MCP_COORD_HOST", "0.0.0.0", "server.host"),
            ("MCP_COORD_HOST", "not-an-ip", "server.host"),
            ("REDIS_URL", "http://x", "store.redis_url"),
            ("MCP_COORD_LOG_FORMAT", "xml", "log.format"),
            ("HEARTBEAT_TTL", "999999", "sessions"),
            ("DEFAULT_LOCK_TIMEOUT", "0", "locks.default_timeout_seconds"),
            ("MCP_COORD_KEY_PREFIX", "a*b", "store.key_prefix"),
            ("MCP_COORD_TMUX_SOCKET", "../x", "tmux.socket"),
            ("MCP_COORD_TMUX_SOCKET", "", "tmux.socket"),
        ];
        for (var, value, needle) in cases {
            let err = Settings::load(&opts(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{var}={value}: {err}");
            assert!(err.contains("allowed"), "{var}={value}: {err}");
        }
    }

    #[test]
    fn list_settings_split_on_commas() {
        let (s, _) = Settings::load(&opts(&[(
            "MCP_COORD_ALLOWED_ORIGINS",
            "https://a.example, https://b.example:8443",
        )]))
        .unwrap();
        assert_eq!(
            s.server.allowed_origins,
            vec!["https://a.example", "https://b.example:8443"]
        );
    }

    #[test]
    fn data_dir_prefers_setting_then_systemd_then_xdg() {
        let mut s = Settings::default();
        let mut env = BTreeMap::new();
        env.insert("HOME".to_string(), "/home/u".to_string());
        assert_eq!(
            s.data_dir(&env),
            PathBuf::from("/home/u/.local/state/mcp-coord")
        );
        env.insert("XDG_STATE_HOME".to_string(), "/x".to_string());
        assert_eq!(s.data_dir(&env), PathBuf::from("/x/mcp-coord"));
        env.insert(
            "STATE_DIRECTORY".to_string(),
            "/var/lib/mcp-coord".to_string(),
        );
        assert_eq!(s.data_dir(&env), PathBuf::from("/var/lib/mcp-coord"));
        s.store.data_dir = "/d".into();
        assert_eq!(s.data_dir(&env), PathBuf::from("/d"));
    }

    #[test]
    fn shipped_default_toml_equals_the_built_in_defaults() {
        let text = include_str!("../config/default.toml");
        let parsed: Settings = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        assert_eq!(
            parsed,
            Settings::default(),
            "config/default.toml documents the defaults"
        );
    }

    #[test]
    fn env_example_lists_every_variable() {
        let text = include_str!("../.env.example");
        for var in ENV_VARS {
            assert!(
                text.contains(&format!("#{}=", var.name)),
                "{} missing from .env.example",
                var.name
            );
        }
    }
}
