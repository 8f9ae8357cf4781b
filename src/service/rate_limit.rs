//! Rate limits: a runaway client must not starve the others. Two keyed `governor` limiters
//! (GCRA, no background task): one per bearer token (its id: every connection and request
//! made with one token shares its budget) or, without a token, per MCP connection (its
//! transport session id) — see [`key`]; and one per client address for tokenless requests
//! that belong to no connection yet. The HTTP edge (`http/rate_limit.rs`) answers 429 with `Retry-After`; on the legacy
//! SSE transport, whose POST is answered 202 before the call runs, the MCP door refuses the
//! tool call instead (`mcp/handler.rs`). Refusals are audited (`rate_limited`), at most once
//! per key every 10 s so a flood does not flood the log too.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde_json::json;

use super::ServiceError;
use super::audit::{self, AuditRecord};
use crate::config::LimitSettings;

/// Keys kept before idle ones are forgotten (`retain_recent`).
const PRUNE_ABOVE: usize = 10_000;

/// One audit entry per limited key at most this often.
const AUDIT_EVERY: Duration = Duration::from_secs(10);

/// The key a request or call counts against: its connection, within its token when it has
/// one (`token:tok_…/mcp:…`; the token's id, never the secret). Several agents often share
/// one token (the README's Claude Code setup exports one), so one agent's runaway loop must
/// not spend the others' budget; requests of a token that belong to no connection yet
/// (opening one, hooks, `/events`) share the token's own bucket (`token:tok_…`), which is
/// also what bounds how fast a token can open connections.
pub fn key(token_id: Option<&str>, connection: &str) -> String {
    match (token_id, connection) {
        (Some(id), "") => format!("token:{id}"),
        (Some(id), connection) => format!("token:{id}/{connection}"),
        (None, connection) => connection.to_string(),
    }
}

/// `key` as the audit log may show it: `mcp:<transport session id>` becomes
/// `mcp:#<first 12 hex digits of its SHA-256>` (still tells one connection from another).
pub fn shown_key(key: &str) -> String {
    match key.split_once("mcp:") {
        Some((before, id)) => {
            format!(
                "{before}mcp:#{}",
                &crate::domain::credential::hash(id)[..12]
            )
        }
        None => key.to_string(),
    }
}

/// A refused request: how long to wait, and a sentence saying which limit it hit.
#[derive(Debug, Clone)]
pub struct Limited {
    pub retry_after: Duration,
    pub message: String,
}

impl Limited {
    /// `Retry-After` in whole seconds (at least 1, as HTTP wants).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }

    pub fn to_error(&self) -> ServiceError {
        ServiceError::new("rate_limited", self.message.clone()).with_details(json!({
            "retry_after_ms": self.retry_after.as_millis() as u64,
        }))
    }
}

struct Limiter {
    limiter: DefaultKeyedRateLimiter<String>,
    per_second: u32,
    burst: u32,
    setting: &'static str,
}

impl Limiter {
    fn new(per_second: u32, burst: u32, setting: &'static str) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            per_second,
            burst: burst.get(),
            setting,
        })
    }

    fn check(&self, key: &str, whose: &str) -> Result<(), Limited> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Limited {
                    retry_after: wait,
                    message: format!(
                        "too many requests from {whose}: the limit is {} per second with bursts \
                         of {} ({}); retry in {} ms — if this is a loop, slow it down or wait \
                         with wait_seconds instead of polling",
                        self.per_second,
                        self.burst,
                        self.setting,
                        wait.as_millis().max(1)
                    ),
                })
            }
        }
    }
}

/// The daemon's rate limits (from `[limits]`).
pub struct RateLimits {
    calls: Option<Limiter>,
    peers: Option<Limiter>,
    audit_gate: DefaultKeyedRateLimiter<String>,
}

impl RateLimits {
    pub fn new(s: &LimitSettings) -> Self {
        Self {
            calls: Limiter::new(s.calls_per_second, s.calls_burst, "limits.calls_per_second"),
            peers: Limiter::new(
                s.requests_per_second,
                s.requests_burst,
                "limits.requests_per_second",
            ),
            audit_gate: DefaultKeyedRateLimiter::keyed(
                Quota::with_period(AUDIT_EVERY).expect("a non-zero period"),
            ),
        }
    }

    /// One request of MCP connection or token `key` ([`key`]).
    pub fn check_connection(&self, key: &str) -> Result<(), Limited> {
        let whose = if key.starts_with("token:") && !key.contains('/') {
            "this token (requests on no connection)"
        } else {
            "this connection"
        };
        match &self.calls {
            Some(l) => l.check(key, whose),
            None => Ok(()),
        }
    }

    /// One request from client address `peer` that belongs to no connection (`hooks:<ip>`:
    /// a hook request, which has a bucket of its own per address).
    pub fn check_peer(&self, peer: &str) -> Result<(), Limited> {
        match &self.peers {
            Some(l) => {
                let whose = match peer.strip_prefix("hooks:") {
                    Some(ip) => format!("the hooks of address {ip}"),
                    None => format!("address {peer}"),
                };
                l.check(peer, &whose)
            }
            None => Ok(()),
        }
    }

    /// True at most once per `key` every 10 s: refusals a client can repeat in a loop
    /// (rate limits, bad tokens, calls outside its role) are audited when this says so, so a
    /// loop cannot flood the log (or push real entries out of its size bound).
    pub fn audit_due(&self, key: &str) -> bool {
        if self.audit_gate.len() > PRUNE_ABOVE {
            self.audit_gate.retain_recent();
        }
        self.audit_gate.check_key(&key.to_string()).is_ok()
    }

    /// Records a refusal in the audit log, at most once per `key` every 10 s.
    pub fn audit(&self, sink: &audit::AuditSink, key: &str, session: Option<&str>) {
        if !self.audit_due(key) {
            return;
        }
        // Which client, as the detail: a token id or an address as they are; a transport
        // session id only hashed, since whoever knows it can act on that connection.
        let mut entry =
            AuditRecord::of("rate_limited", audit::REFUSED).detail(shown_key(key).as_str());
        if let Some(s) = session {
            entry = entry.session(s);
        }
        sink.record(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::shown_key;

    #[test]
    fn transport_session_ids_are_hashed_in_what_the_audit_shows() {
        let id = "0f8c2c3e-1111-2222-3333-444455556666";
        let shown = shown_key(&format!("mcp:{id}"));
        assert!(shown.starts_with("mcp:#") && shown.len() == 17, "{shown}");
        assert!(!shown.contains(id));
        assert_eq!(shown, shown_key(&format!("mcp:{id}")), "stable");
        assert_ne!(shown, shown_key("mcp:another"));
        assert_eq!(shown_key("token:tok_1"), "token:tok_1");
        assert_eq!(shown_key("127.0.0.1"), "127.0.0.1");
        let within = shown_key(&super::key(Some("tok_1"), &format!("mcp:{id}")));
        assert!(within.starts_with("token:tok_1/mcp:#"), "{within}");
    }

    #[test]
    fn a_tokens_connections_have_buckets_of_their_own() {
        use super::key;
        assert_eq!(key(Some("tok_1"), ""), "token:tok_1");
        assert_eq!(key(Some("tok_1"), "mcp:a"), "token:tok_1/mcp:a");
        assert_ne!(key(Some("tok_1"), "mcp:a"), key(Some("tok_1"), "mcp:b"));
        assert_eq!(key(None, "mcp:a"), "mcp:a");
    }
}
