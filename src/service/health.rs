//! Health: one report served by `GET /health` and the `health_check` tool alike; `doctor`
//! and `status` read it back with these same types (the CLI never asks the store itself).

use serde::{Deserialize, Serialize};

use super::Coordinator;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HealthReport {
    /// `ok`, or `degraded` when the store cannot be reached.
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub store: StoreHealth,
    pub connections: ConnectionCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoreHealth {
    /// `redis` or `embedded`.
    pub kind: String,
    /// Where the store is: the Redis URL (password hidden) and key prefix, or the embedded
    /// store's file.
    pub description: String,
    pub reachable: bool,
    /// The store server's version (Redis), when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Round trip of one PING, in milliseconds (absent when unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
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
        let kind = self.store().kind().as_str().to_string();
        let description = self.store().describe();
        let store = match ping {
            Ok(rtt) => StoreHealth {
                kind,
                description,
                reachable: true,
                // Asked only of a store that just answered, so a stalled one costs one timeout.
                server_version: self.store().server_version().await.ok().flatten(),
                round_trip_ms: Some((rtt.as_secs_f64() * 1e6).round() / 1e3),
                error: None,
                grants_held: self.store().grant_hold(),
                persistence_warning: self.store().persistence_warning(),
            },
            Err(e) => StoreHealth {
                kind,
                description,
                reachable: false,
                server_version: None,
                round_trip_ms: None,
                error: Some(e.to_string()),
                grants_held: self.store().grant_hold(),
                persistence_warning: self.store().persistence_warning(),
            },
        };
        let sse = self.connections().sse();
        let streamable_http = self.connections().streamable_http();
        HealthReport {
            status: if store.reachable { "ok" } else { "degraded" }.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
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
