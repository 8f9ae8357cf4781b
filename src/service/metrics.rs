//! Prometheus metrics: one [`Metrics`] registry per daemon, owned by the `Coordinator`
//! (`coord.metrics()`), served as text by `GET /metrics`.
//!
//! Capabilities record what happens through the small methods below (`lock_granted()`,
//! `message_sent()`, …) so no caller needs to know metric names or label types. Every name
//! starts with `mcp_coord_`; counters end in `_total`, durations are `_seconds`.
//!
//! Gauges that describe store contents (sessions by tier, locks held, lock waiters) are
//! absent from the output until their capability sets them: a missing series is honest, a
//! 0 that nobody computed is not.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::domain::tiers::Tier;

/// The content type of [`Metrics::encode`]'s output (OpenMetrics text, which Prometheus
/// negotiates by default and which is a superset of its classic text format).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Tool-call latency buckets, in seconds: sub-millisecond store calls up to lock waits of
/// minutes (`wait_seconds`).
const TOOL_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
    300.0,
];

/// Store round-trip buckets, in seconds: a local Redis answers in ~0.1 ms; the store
/// timeout (2 s by default) bounds the top.
const STORE_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// How a tool call ended: `ok`, `refused` (a tool result with `isError`), `error` (a
/// JSON-RPC error).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Outcome {
    ok,
    refused,
    error,
}

/// What the reaper did to a session or lock.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum ReaperAction {
    /// Published a tier change (active → idle → stale → abandoned).
    tier_changed,
    /// Released the locks of an abandoned or ended session.
    lock_released,
    /// Ended an abandoned session.
    session_ended,
    /// Deleted expired history (ended sessions, inboxes).
    expired,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolOutcomeLabels {
    tool: String,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabels {
    tier: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: ReaperAction,
}

/// A gauge without labels that has no sample until it is first set.
#[derive(Debug, Clone, Default)]
struct OptionalGauge(Arc<Mutex<Option<i64>>>);

impl OptionalGauge {
    fn set(&self, v: i64) {
        *self.0.lock() = Some(v);
    }

    fn add(&self, d: i64) {
        let mut g = self.0.lock();
        *g = Some(g.unwrap_or(0) + d);
    }
}

/// Counts one lock waiter of this daemon until dropped.
#[derive(Debug)]
pub struct LockWaitGuard {
    gauge: OptionalGauge,
}

impl Drop for LockWaitGuard {
    fn drop(&mut self) {
        self.gauge.add(-1);
    }
}

/// Encodes an [`OptionalGauge`] at scrape time, or nothing while it is unset.
#[derive(Debug)]
struct OptionalGaugeCollector {
    name: &'static str,
    help: &'static str,
    gauge: OptionalGauge,
}

impl Collector for OptionalGaugeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(v) = *self.gauge.0.lock() else {
            return Ok(());
        };
        let gauge = ConstGauge::new(v);
        let metric = encoder.encode_descriptor(self.name, self.help, None, gauge.metric_type())?;
        gauge.encode(metric)
    }
}

fn optional_gauge(
    registry: &mut Registry,
    name: &'static str,
    help: &'static str,
) -> OptionalGauge {
    let gauge = OptionalGauge::default();
    registry.register_collector(Box::new(OptionalGaugeCollector {
        name,
        help,
        gauge: gauge.clone(),
    }));
    gauge
}

/// Counter readings since the daemon started (`/metrics` has the same numbers).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MetricTotals {
    pub tool_calls: u64,
    pub lock_grants: u64,
    pub lock_refusals: u64,
    pub lock_takeovers: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub store_errors: u64,
}

/// Every metric of the daemon. Cheap to share: each metric is an `Arc` inside.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    tool_calls: Family<ToolOutcomeLabels, Counter>,
    /// All tool calls, summed over the family above (for [`Metrics::totals`]).
    tool_calls_total: Counter,
    tool_call_duration: Family<ToolLabels, Histogram>,
    connections: Family<TransportLabels, Gauge>,
    sessions: Family<TierLabels, Gauge>,
    locks_held: OptionalGauge,
    lock_waiters: OptionalGauge,
    lock_grants: Counter,
    lock_refusals: Counter,
    lock_takeovers: Counter,
    messages_sent: Counter,
    messages_delivered: Counter,
    reaper_runs: Counter,
    reaper_actions: Family<ActionLabels, Counter>,
    store_errors: Counter,
    store_reachable: Gauge,
    store_round_trip: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp_coord");
        let tool_calls = Family::<ToolOutcomeLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "MCP tool calls by tool and outcome (ok, refused = isError result, error = JSON-RPC error)",
            tool_calls.clone(),
        );
        let tool_call_duration =
            Family::<ToolLabels, Histogram>::new_with_constructor(|| Histogram::new(TOOL_BUCKETS));
        registry.register_with_unit(
            "tool_call_duration",
            "Time from a tool call's arrival to its answer, by tool (includes lock waits)",
            Unit::Seconds,
            tool_call_duration.clone(),
        );
        let connections = Family::<TransportLabels, Gauge>::default();
        registry.register(
            "connections",
            "Open MCP connections by transport (sse, streamable-http)",
            connections.clone(),
        );
        let sessions = Family::<TierLabels, Gauge>::default();
        registry.register(
            "sessions",
            "Registered sessions by liveness tier (set by the sessions capability, issue 4)",
            sessions.clone(),
        );
        let locks_held = optional_gauge(
            &mut registry,
            "locks_held",
            "Locks currently held (set by the locks capability, issue 3).",
        );
        let lock_waiters = optional_gauge(
            &mut registry,
            "lock_waiters",
            "Callers waiting in a lock queue (set by the locks capability, issue 3).",
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let lock_grants = counter(&mut registry, "lock_grants", "Locks granted");
        let lock_refusals = counter(
            &mut registry,
            "lock_refusals",
            "Lock requests refused (held by another, timed out waiting)",
        );
        let lock_takeovers = counter(
            &mut registry,
            "lock_takeovers",
            "Locks taken over from a stale or dead holder",
        );
        let messages_sent = counter(&mut registry, "messages_sent", "Messages sent to inboxes");
        let messages_delivered = counter(
            &mut registry,
            "messages_delivered",
            "Messages handed to their reader",
        );
        let reaper_runs = counter(&mut registry, "reaper_runs", "Reaper passes completed");
        let reaper_actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "reaper_actions",
            "Side effects the reaper performed, by action",
            reaper_actions.clone(),
        );
        let store_errors = counter(
            &mut registry,
            "store_errors",
            "Store calls that failed (Redis unreachable, timed out, or answered with an error)",
        );
        let store_reachable = Gauge::default();
        registry.register(
            "store_reachable",
            "1 when the last store ping succeeded, 0 when it failed",
            store_reachable.clone(),
        );
        let store_round_trip = Histogram::new(STORE_BUCKETS);
        registry.register_with_unit(
            "store_round_trip",
            "Round trip of a store PING (health checks and the periodic ping)",
            Unit::Seconds,
            store_round_trip.clone(),
        );
        Self {
            registry,
            tool_calls,
            tool_calls_total: Counter::default(),
            tool_call_duration,
            connections,
            sessions,
            locks_held,
            lock_waiters,
            lock_grants,
            lock_refusals,
            lock_takeovers,
            messages_sent,
            messages_delivered,
            reaper_runs,
            reaper_actions,
            store_errors,
            store_reachable,
            store_round_trip,
        }
    }

    /// The whole registry as OpenMetrics text (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an error here would be a bug in the encoder.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics failed: {e}");
        }
        out
    }

    // ---- tool calls (src/mcp/handler.rs) ----

    /// One tool call ended. `tool` must be a known tool name (or `"unknown"`): labels from
    /// client input would let a client create unbounded series.
    pub fn tool_call(&self, tool: &str, outcome: Outcome, duration: Duration) {
        self.tool_calls
            .get_or_create(&ToolOutcomeLabels {
                tool: tool.to_string(),
                outcome,
            })
            .inc();
        self.tool_calls_total.inc();
        self.tool_call_duration
            .get_or_create(&ToolLabels {
                tool: tool.to_string(),
            })
            .observe(duration.as_secs_f64());
    }

    /// The counters a dashboard turns into rates (it differences two readings).
    pub fn totals(&self) -> MetricTotals {
        MetricTotals {
            tool_calls: self.tool_calls_total.get(),
            lock_grants: self.lock_grants.get(),
            lock_refusals: self.lock_refusals.get(),
            lock_takeovers: self.lock_takeovers.get(),
            messages_sent: self.messages_sent.get(),
            messages_delivered: self.messages_delivered.get(),
            store_errors: self.store_errors.get(),
        }
    }

    // ---- connections (read from `Coordinator::connections()` at scrape time) ----

    pub fn set_connections(&self, sse: usize, streamable_http: usize) {
        for (transport, n) in [("sse", sse), ("streamable-http", streamable_http)] {
            self.connections
                .get_or_create(&TransportLabels { transport })
                .set(n as i64);
        }
    }

    // ---- sessions (issue 4) ----

    /// Sessions per tier, e.g. computed at scrape time from the session index.
    pub fn set_sessions(&self, tier: Tier, count: usize) {
        self.sessions
            .get_or_create(&TierLabels {
                tier: tier.as_str(),
            })
            .set(count as i64);
    }

    // ---- locks (issue 3) ----

    pub fn set_locks_held(&self, count: usize) {
        self.locks_held.set(count as i64);
    }

    pub fn set_lock_waiters(&self, count: usize) {
        self.lock_waiters.set(count as i64);
    }

    /// A call started waiting for a lock in this daemon; the returned guard ends it.
    pub fn lock_wait_started(&self) -> LockWaitGuard {
        self.lock_waiters.add(1);
        LockWaitGuard {
            gauge: self.lock_waiters.clone(),
        }
    }

    pub fn lock_granted(&self) {
        self.lock_grants.inc();
    }

    pub fn lock_refused(&self) {
        self.lock_refusals.inc();
    }

    pub fn lock_taken_over(&self) {
        self.lock_takeovers.inc();
    }

    // ---- messages (issue 5) ----

    /// `count` inboxes received one message (a broadcast counts once per recipient).
    pub fn messages_sent(&self, count: u64) {
        self.messages_sent.inc_by(count);
    }

    /// `count` messages were returned to their reader.
    pub fn messages_delivered(&self, count: u64) {
        self.messages_delivered.inc_by(count);
    }

    // ---- reaper (issue 4) ----

    pub fn reaper_ran(&self) {
        self.reaper_runs.inc();
    }

    pub fn reaper_acted(&self, action: ReaperAction, count: u64) {
        self.reaper_actions
            .get_or_create(&ActionLabels { action })
            .inc_by(count);
    }

    // ---- store ----

    /// Brings the counter up to the store's own count of failed calls
    /// ([`crate::store::Store::errors_total`], counted in `RedisStore::run`); called at
    /// scrape time.
    pub fn set_store_errors(&self, total: u64) {
        // Counters only go up; the store's own count is monotonic too, so add the difference.
        let seen = self.store_errors.get();
        if total > seen {
            self.store_errors.inc_by(total - seen);
        }
    }

    /// The result of one store PING: its round trip, or `None` when it failed.
    pub fn store_ping(&self, round_trip: Option<Duration>) {
        match round_trip {
            Some(rtt) => {
                self.store_round_trip.observe(rtt.as_secs_f64());
                self.store_reachable.set(1);
            }
            None => {
                self.store_reachable.set(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let m = Metrics::new();
        m.tool_call("whoami", Outcome::ok, Duration::from_millis(3));
        m.lock_granted();
        m.store_ping(Some(Duration::from_micros(150)));
        m.set_store_errors(2);
        m.set_store_errors(1); // never goes down
        let text = m.encode();
        assert!(
            text.contains("mcp_coord_tool_calls_total{tool=\"whoami\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("mcp_coord_tool_call_duration_seconds_count{tool=\"whoami\"} 1"));
        assert!(text.contains("mcp_coord_lock_grants_total 1"));
        assert!(text.contains("mcp_coord_store_errors_total 2"));
        assert!(text.contains("mcp_coord_store_round_trip_seconds_bucket{le=\"0.00025\"} 1"));
        assert!(text.contains("mcp_coord_store_reachable 1"));
        // Unset store-content gauges are absent until their capability sets them.
        assert!(!text.contains("mcp_coord_locks_held"), "{text}");
        m.set_locks_held(3);
        assert!(
            m.encode()
                .contains("\n# TYPE mcp_coord_locks_held gauge\nmcp_coord_locks_held 3\n")
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }
}
