//! Running the daemon as a service: systemd readiness and watchdog, the periodic
//! self-check that feeds `/metrics` and the status line `systemctl status` shows, and giving
//! the memory of closed connections back (`memory.rs`).

pub mod memory;
pub mod monitor;
pub mod systemd;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::service::Coordinator;

/// The background tasks of this module; they stop when the daemon's shutdown token fires.
pub struct OpsTasks {
    tasks: Vec<JoinHandle<()>>,
}

impl OpsTasks {
    /// Tells systemd we are ready (no-op outside systemd) and starts the watchdog and the
    /// periodic store ping. Call once the listener is bound and the store was pinged.
    pub fn start(
        coord: Arc<Coordinator>,
        addr: SocketAddr,
        store_reachable: bool,
        shutdown: CancellationToken,
    ) -> Self {
        systemd::ready(&monitor::status_line(&coord, addr, store_reachable));
        let mut tasks = vec![memory::spawn(coord.clone(), shutdown.clone())];
        tasks.push(monitor::spawn(
            coord,
            addr,
            store_reachable,
            shutdown.clone(),
        ));
        if let Some(task) = systemd::spawn_watchdog(shutdown) {
            tasks.push(task);
        }
        Self { tasks }
    }

    /// Waits for the tasks (they end on the shutdown token, which the caller cancels after
    /// [`systemd::stopping`]).
    pub async fn stop(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
