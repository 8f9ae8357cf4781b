//! A periodic self-check: pings the store (feeding `mcp_coord_store_round_trip_seconds` and
//! `mcp_coord_store_reachable` even when nobody calls `/health`) and keeps the systemd status
//! line current, so `systemctl status mcp-coord` says whether Redis answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::systemd;
use crate::service::Coordinator;

/// Often enough for a 15 s Prometheus scrape to see a fresh value; cheap (one PING).
pub const INTERVAL: Duration = Duration::from_secs(15);

pub fn spawn(
    coord: Arc<Coordinator>,
    addr: SocketAddr,
    mut was_reachable: bool,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; start() has just pinged
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let report = coord.health().await;
            if report.store.reachable != was_reachable {
                was_reachable = report.store.reachable;
                systemd::status(&status_line(&coord, addr, report.store.reachable));
            }
        }
    })
}

/// The one-line status `systemctl status` shows.
pub fn status_line(coord: &Coordinator, addr: SocketAddr, store_reachable: bool) -> String {
    format!(
        "serving on {}://{addr}; store {} {}",
        coord.settings().tls.scheme(),
        coord.store().kind().as_str(),
        if store_reachable {
            "reachable"
        } else {
            "UNREACHABLE (degraded)"
        }
    )
}
