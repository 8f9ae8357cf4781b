//! Operations: sd_notify, /metrics, the unit files, install-service, doctor, start script.

mod doctor;
mod metrics;
mod start_script;
mod systemd_notify;
mod units;
