//! Health: one report served by `GET /health` and the `health_check` tool alike.

use serde::Serialize;

use super::Coordinator;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct HealthReport {
    /// `ok`, or `degraded` when the store cannot be reached.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub store: StoreHealth,
    pub connections: ConnectionCounts,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StoreHealth {
    /// `redis` or `embedded`.
    pub kind: &'static str,
    pub reachable: bool,
    /// Round trip of one PING, in milliseconds (absent when unreachable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set while lock grants are held back after the store lost its data (Redis restarted
    /// without persistence, flushed, an old backup): until when, since when, and why.
    /// Everything else keeps working; `mcp-coord resume-grants` ends it early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grants_held: Option<crate::store::GrantHold>,
    /// How little the store keeps across its own restarts (Redis without AOF), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_warning: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConnectionCounts {
    pub sse: usize,
    pub streamable_http: usize,
    pub total: usize,
}

impl Coordinator {
    /// Pings the store and reports. Never fails: an unreachable store is a `degraded` report.
    pub async fn health(&self) -> HealthReport {
        let ping = self.store().ping().await;
        self.metrics().store_ping(ping.as_ref().ok().copied());
        let store = match ping {
            Ok(rtt) => StoreHealth {
                kind: self.store().kind().as_str(),
                reachable: true,
                round_trip_ms: Some((rtt.as_secs_f64() * 1e6).round() / 1e3),
                error: None,
                grants_held: self.store().grant_hold(),
                persistence_warning: self.store().persistence_warning(),
            },
            Err(e) => StoreHealth {
                kind: self.store().kind().as_str(),
                reachable: false,
                round_trip_ms: None,
                error: Some(e.to_string()),
                grants_held: self.store().grant_hold(),
                persistence_warning: self.store().persistence_warning(),
            },
        };
        let sse = self.connections().sse();
        let streamable_http = self.connections().streamable_http();
        HealthReport {
            status: if store.reachable { "ok" } else { "degraded" },
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: self.uptime().as_secs(),
            store,
            connections: ConnectionCounts {
                sse,
                streamable_http,
                total: sse + streamable_http,
            },
        }
    }
}
