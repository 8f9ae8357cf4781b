//! The sd_notify protocol (`Type=notify` units): `READY=1` once listening, `STATUS=…` for
//! `systemctl status`, `WATCHDOG=1` at half of `WatchdogSec`, `STOPPING=1` on shutdown.
//!
//! Every function is a no-op when `NOTIFY_SOCKET` is unset (not started by systemd, or in
//! tests), and a failed send is logged, never fatal: the daemon serves either way.
//! `NotifyAccess=main` in the units makes systemd ignore anything our child processes
//! (tmux, agents) might send on the inherited socket.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// True when a service manager listens for our notifications.
pub fn enabled() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

fn send(states: &[NotifyState]) {
    if !enabled() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd ({states:?}): {e}");
    }
}

/// `READY=1` plus a status line: systemd considers the start complete.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Replaces the status line shown by `systemctl status`.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// `STOPPING=1`: a stop is in progress (so a slow drain is not mistaken for a hang).
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("shutting down")]);
}

/// The watchdog period systemd asks for (`WATCHDOG_USEC`, meant for this pid), if any.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// Pings `WATCHDOG=1` at half the period systemd expects, until `shutdown`. The pings come
/// from the async runtime, so a wedged runtime stops them and systemd restarts the daemon.
pub fn spawn_watchdog(shutdown: CancellationToken) -> Option<JoinHandle<()>> {
    if !enabled() {
        return None;
    }
    let period = watchdog_period()? / 2;
    tracing::debug!(?period, "systemd watchdog enabled");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => send(&[NotifyState::Watchdog]),
            }
        }
    }))
}
