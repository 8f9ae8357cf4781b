//! `audit_log`: reads the store's audit log after letting the writer catch up.

use std::time::Duration;

use super::types::{AuditLog, AuditLogArgs, DEFAULT_LIMIT, MAX_LIMIT};
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::audit::AuditQuery;

/// How long a query waits for entries still on their way to the store.
const CATCH_UP: Duration = Duration::from_secs(2);

/// `1h`, `15m`, `2d` → milliseconds.
pub fn parse_since(since: &str) -> Result<i64, ServiceError> {
    humantime::parse_duration(since.trim())
        .map(|d| d.as_millis().min(i64::MAX as u128) as i64)
        .map_err(|e| {
            ServiceError::invalid(format!(
                "since {since:?} is not a duration ({e}); write e.g. 15m, 1h, 2d or 1h 30m"
            ))
        })
}

impl Coordinator {
    /// The audit entries of the last `since` (default 1 h), filtered by session and kind.
    pub async fn audit_log(
        &self,
        _caller: &Caller,
        args: AuditLogArgs,
    ) -> Result<AuditLog, ServiceError> {
        let back_ms = parse_since(args.since.as_deref().unwrap_or("1h"))?;
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ServiceError::invalid(format!(
                "limit must be 1 to {MAX_LIMIT} (got {limit}); narrow the query with since, \
                 session or kind instead"
            )));
        }
        let caught_up = self.audit().flush(CATCH_UP).await;
        let now = self.store().now_ms().await?;
        let query = AuditQuery {
            since_ms: now.saturating_sub(back_ms),
            session: args.session.filter(|s| !s.is_empty()),
            kind: args.kind.filter(|k| !k.is_empty()),
            // One more than asked: tells whether the answer was cut.
            limit: limit as usize + 1,
        };
        let mut entries = self.store().query_audit(&query).await?;
        let truncated = entries.len() > limit as usize;
        if truncated {
            entries.remove(0);
        }
        let dropped = self.audit().dropped();
        let warning = match (caught_up, dropped) {
            (false, _) => Some(
                "the audit writer did not catch up within 2 s; the newest entries may be missing"
                    .to_string(),
            ),
            (true, 0) => None,
            (true, n) => Some(format!(
                "{n} entries were dropped since this daemon started (its audit writer fell behind)"
            )),
        };
        Ok(AuditLog {
            since_ms: query.since_ms,
            count: entries.len(),
            truncated,
            entries,
            warning,
        })
    }
}
