//! Operations: sd_notify, /metrics, the unit files, install-service, doctor, start script.

mod metrics;
mod systemd_notify;
