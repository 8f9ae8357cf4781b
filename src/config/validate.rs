//! Validation of loaded settings: ranges, orderings, the bind address, names that end up in
//! keys and file names. Each error names the setting, what was wrong and what is allowed.

use std::net::IpAddr;

use super::{Settings, TmuxSettings};

/// A setting that cannot be used. Shown to the user, who fixes it and starts again.
#[derive(Debug, thiserror::Error)]
#[error("bad setting {setting}: {problem}; allowed: {allowed}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
    pub allowed: String,
}

impl ConfigError {
    pub(crate) fn new(
        setting: &str,
        problem: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        Self {
            setting: setting.into(),
            problem: problem.into(),
            allowed: allowed.into(),
        }
    }
}

impl Settings {
    /// Checks what types alone cannot: ranges, orderings, the bind address.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let host: IpAddr = self.server.host.parse().map_err(|_| {
            ConfigError::new(
                "server.host",
                format!("{:?} is not an IP address", self.server.host),
                "127.0.0.1 or ::1",
            )
        })?;
        if !host.is_loopback() && !self.auth.required {
            return Err(ConfigError::new(
                "server.host",
                format!(
                    "{host} is not a loopback address and [auth] required is false, so anyone \
                     who can reach it could take and release every lock"
                ),
                "127.0.0.1 or ::1, or set [auth] required = true (MCP_COORD_AUTH_REQUIRED=true) and give clients tokens",
            ));
        }
        // The files themselves: readable, a certificate, a key, and the key of that certificate.
        crate::tls::server_config(&self.tls)?;
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
        if self.server.worker_threads > 256 {
            return Err(ConfigError::new(
                "server.worker_threads",
                self.server.worker_threads.to_string(),
                "0 (one per core) to 256; 1 is the default",
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
        validate_audit(&self.audit)?;
        Ok(())
    }
}

fn validate_audit(a: &super::schema::AuditSettings) -> Result<(), ConfigError> {
    if a.max_entries == 0 {
        return Err(ConfigError::new("audit.max_entries", "0", "1 or more"));
    }
    if a.max_age_seconds == 0 {
        return Err(ConfigError::new("audit.max_age_seconds", "0", "1 or more"));
    }
    Ok(())
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
