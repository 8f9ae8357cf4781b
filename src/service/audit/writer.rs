//! The one task that moves audit entries from the channel to the store (in batches, trimmed
//! to the `[audit]` bounds at every append) and, when `audit.file` is set, to a JSON-lines
//! file. A store failure is logged and the batch is given up: the audit log must never stall
//! the calls it records.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Cmd;
use crate::service::Coordinator;
use crate::store::audit::{AuditPolicy, AuditRecord};

/// Entries written per store call at most.
const BATCH: usize = 256;

/// The bounds of the log, from the settings.
pub fn policy(s: &crate::config::AuditSettings) -> AuditPolicy {
    AuditPolicy {
        max_entries: s.max_entries,
        max_age_ms: (s.max_age_seconds as i64).saturating_mul(1000),
    }
}

/// Starts the writer (once per daemon; `None` if it already runs). It drains what is queued
/// when `shutdown` fires, then stops.
pub fn spawn(coord: Arc<Coordinator>, shutdown: CancellationToken) -> Option<JoinHandle<()>> {
    let mut rx = coord.audit().take_receiver()?;
    Some(tokio::spawn(async move {
        let policy = policy(&coord.settings().audit);
        let mut file = open_file(&coord.settings().audit.file).await;
        let mut stopping = false;
        loop {
            let first = if stopping {
                match rx.try_recv() {
                    Ok(c) => c,
                    Err(_) => return,
                }
            } else {
                tokio::select! {
                    c = rx.recv() => match c { Some(c) => c, None => return },
                    _ = shutdown.cancelled() => { stopping = true; continue; }
                }
            };
            let mut batch = Vec::new();
            let mut flushes = Vec::new();
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Cmd::Entry(e) => batch.push(*e),
                    Cmd::Flush(done) => flushes.push(done),
                }
                if batch.len() < BATCH {
                    next = rx.try_recv().ok();
                }
            }
            write(&coord, &batch, policy, &mut file).await;
            for done in flushes {
                let _ = done.send(());
            }
        }
    }))
}

async fn write(
    coord: &Coordinator,
    batch: &[AuditRecord],
    policy: AuditPolicy,
    file: &mut Option<tokio::fs::File>,
) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = coord.store().append_audit(batch, policy).await {
        tracing::warn!("audit log: {} entries not stored: {e}", batch.len());
    }
    if let Some(f) = file {
        let mut lines = String::new();
        for e in batch {
            if let Ok(j) = serde_json::to_string(e) {
                lines.push_str(&j);
                lines.push('\n');
            }
        }
        if let Err(e) = f.write_all(lines.as_bytes()).await {
            tracing::warn!("audit log: cannot append to the audit file: {e}");
        }
    }
}

async fn open_file(path: &str) -> Option<tokio::fs::File> {
    if path.is_empty() {
        return None;
    }
    let mut opts = tokio::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    opts.mode(0o600);
    match opts.open(path).await {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!(
                "audit log: cannot open audit.file {path}: {e}; entries go to the store only"
            );
            None
        }
    }
}
