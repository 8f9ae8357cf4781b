//! Checking what message callers send: the kind, a TTL, a wait, a role to match; and
//! sleeping until a message may have arrived.

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::domain::message::MessageKind;
use crate::domain::session::SessionEntry;
use crate::service::ServiceError;
use crate::service::locks::WaitContext;

pub(super) fn kind_of(kind: Option<&str>) -> Result<MessageKind, ServiceError> {
    let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => return Ok(MessageKind::Info),
        Some(k) => MessageKind::parse(k).map_err(ServiceError::invalid)?,
    };
    if kind == MessageKind::Status {
        return Err(ServiceError::invalid(
            "kind status is written by the daemon when a session calls report_session_status; \
             call report_session_status to tell your parent, or send info, task, question or reply",
        ));
    }
    Ok(kind)
}

/// `ttl_seconds`: ≥ 1, clamped to the inbox TTL (a message cannot outlive its inbox).
pub(super) fn ttl_ms(
    ttl_seconds: Option<i64>,
    inbox_ttl: u64,
    warnings: &mut Vec<String>,
) -> Result<Option<i64>, ServiceError> {
    match ttl_seconds {
        None => Ok(None),
        Some(t) if t < 1 => Err(ServiceError::invalid(format!(
            "ttl_seconds must be at least 1 (or left out: the message then lives as long as the inbox, {inbox_ttl} s); got {t}"
        ))),
        Some(t) if t as u64 > inbox_ttl => {
            warnings.push(format!(
                "ttl_seconds {t} is above the inbox lifetime; clamped to {inbox_ttl} (messages.inbox_ttl_seconds)"
            ));
            Ok(Some(inbox_ttl as i64 * 1000))
        }
        Some(t) => Ok(Some(t * 1000)),
    }
}

/// A wait in seconds: ≥ 0, clamped to `messages.max_wait_seconds`.
pub(super) fn wait_secs(
    field: &str,
    asked: Option<i64>,
    default: u64,
    max: u64,
    warnings: &mut Vec<String>,
) -> Result<u64, ServiceError> {
    match asked {
        None => Ok(default.min(max)),
        Some(w) if w < 0 => Err(ServiceError::invalid(format!(
            "{field} must be 0 to {max}; got {w}"
        ))),
        Some(w) if w as u64 > max => {
            warnings.push(format!(
                "{field} {w} is above the maximum; clamped to {max} (messages.max_wait_seconds)"
            ));
            Ok(max)
        }
        Some(w) => Ok(w as u64),
    }
}

pub(super) fn still_open(wait: &WaitContext) -> bool {
    !wait.cancel.is_cancelled() && wait.connection_open.as_ref().is_none_or(|f| f())
}

/// Sleeps until a message for `session` is sent (a hint), `until`, or cancellation.
pub(crate) async fn wake_for(
    hints: &mut broadcast::Receiver<String>,
    session: &str,
    until: Instant,
    wait: &WaitContext,
) {
    let sleep = tokio::time::sleep_until(until);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            _ = wait.cancel.cancelled() => return,
            hint = hints.recv() => match hint {
                Ok(to) if to == session => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => {
                    sleep.as_mut().await;
                    return;
                }
            },
        }
    }
}

pub(super) fn role_matches(e: &SessionEntry, role: &str) -> bool {
    let r = &e.record;
    serde_json::to_value(r.role)
        .ok()
        .is_some_and(|v| v.as_str() == Some(role))
        || r.metadata.get("role").and_then(|v| v.as_str()) == Some(role)
}

/// `kinds` as given (`info`, `task`, …); an empty list means every kind.
pub(super) fn kinds(raw: Option<Vec<String>>) -> Result<Option<Vec<MessageKind>>, ServiceError> {
    raw.map(|ks| {
        ks.iter()
            .map(|k| MessageKind::parse(k.trim()).map_err(ServiceError::invalid))
            .collect::<Result<Vec<_>, _>>()
    })
    .transpose()
    .map(|k| k.filter(|k| !k.is_empty()))
}
