//! The environment variables the daemon reads, each mapped to one setting. An explicit
//! table rather than a generic `PREFIX__SECTION__KEY` mapping: see the `config` module.

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
        name: "MCP_COORD_HTTP_IDLE_SECONDS",
        key: "server.http_idle_seconds",
        help: "close a kept-alive HTTP connection without requests after this many seconds (0 = never)",
    },
    EnvVar {
        name: "MCP_COORD_MCP_IDLE_TIMEOUT",
        key: "server.mcp_idle_timeout_seconds",
        help: "close idle Streamable-HTTP sessions after this many seconds (0 = never)",
    },
    EnvVar {
        name: "MCP_COORD_WORKER_THREADS",
        key: "server.worker_threads",
        help: "threads running the daemon's tasks (0 = one per core; default 1)",
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
        name: "MCP_COORD_AUTH_REQUIRED",
        key: "auth.required",
        help: "every route but /health needs a bearer token",
    },
    EnvVar {
        name: "MCP_COORD_TLS_CERT",
        key: "tls.cert",
        help: "PEM certificate (chain) to serve HTTPS with; set with MCP_COORD_TLS_KEY",
    },
    EnvVar {
        name: "MCP_COORD_TLS_KEY",
        key: "tls.key",
        help: "PEM private key of tls.cert",
    },
    EnvVar {
        name: "MCP_COORD_DATA_DIR",
        key: "store.data_dir",
        help: "embedded store's data directory",
    },
    EnvVar {
        name: "MCP_COORD_FSYNC",
        key: "store.fsync",
        help: "embedded store fsync policy: always, everysec or no",
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
pub(super) const LIST_KEYS: &[&str] = &["server.allowed_origins", "server.allowed_hosts"];
