//! Fault injection against real parts: Redis paused with `CLIENT PAUSE`, processes killed
//! with SIGKILL, daemons crashed and restarted. One file per fault.
//!
//! The daemon runs as a child process here ([`crate::support::process::DaemonProcess`]), so
//! a daemon that wedges shows up as unanswered requests (and a failed assertion) instead of
//! hanging the test's own runtime. Every wait is bounded.

mod daemon_crash;
mod daemon_killed;
mod fuzz;
mod holder_stopped;
mod holders_killed;
mod hostile_input;
mod killed_waiter;
mod redis_data_loss;
mod redis_stall;
mod resume_after_restart;
mod slow_redis;

use std::time::Duration;

use rmcp::model::CallToolRequestParams;
use serde_json::Value;

use crate::support::client::{Client, ToolOutcome, outcome};

/// A tool call that gives up after `within`: `Err` says whether nothing answered or the
/// transport failed, so a wedged daemon fails the test instead of hanging it.
pub async fn try_call(
    client: &Client,
    tool: &str,
    args: Value,
    within: Duration,
) -> Result<ToolOutcome, String> {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    match tokio::time::timeout(within, client.call_tool(params)).await {
        Ok(Ok(result)) => Ok(outcome(result)),
        Ok(Err(e)) => Err(format!("{tool}: transport error: {e}")),
        Err(_) => Err(format!("{tool}: no answer within {within:?}")),
    }
}

/// The `/health` status code, asked from a blocking thread (`None`: no answer within 5 s).
pub async fn health(base: &str) -> Option<u16> {
    let addr = base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || crate::support::process::health_status(&addr))
        .await
        .expect("health probe thread")
}

/// A small seeded generator (xorshift64*), so a fault run can be replayed from its seed.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
