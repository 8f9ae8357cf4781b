//! `list_locks`: the held locks matching a glob, in name order, one page at a time.
//!
//! With thousands of locks one answer with all of them costs the daemon and the client
//! far more than the store read (it is encoded as structured JSON and again as text), and
//! no model reads that many; so answers are pages of `limit` locks, and `next_cursor` (the
//! last name of a page) continues after it. Name order keeps the pages stable while locks
//! come, go and are extended: a lock held throughout is listed exactly once. The store
//! first gives the names alone (cheap), and then reads the records of one page only.

use super::wording::lock_view;
use super::{ListLocksArgs, LockList, LockView};
use crate::domain::session_name::truncate;
use crate::service::{Caller, Coordinator, ServiceError};

/// Locks in one `list_locks` answer when the caller does not say.
pub const DEFAULT_LIST_LIMIT: u32 = 500;
/// The largest `limit` accepted.
pub const MAX_LIST_LIMIT: u32 = 5000;

impl Coordinator {
    /// Held locks whose canonical name matches `pattern` (a glob; bare-resource patterns such
    /// as `py*` also match `resource:` locks by their bare name), after `cursor`, at most
    /// `limit` of them.
    pub async fn list_locks(
        &self,
        caller: &Caller,
        args: &ListLocksArgs,
    ) -> Result<LockList, ServiceError> {
        let pattern = args
            .pattern
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("*");
        let glob = lock_glob(pattern)?;
        let limit = page_limit(args.limit)?;
        let cursor = args.cursor.as_deref().filter(|c| !c.is_empty());
        if let Some(c) = cursor
            && (c.len() > 300 || c.chars().any(char::is_control))
        {
            return Err(ServiceError::invalid(format!(
                "cursor {:?} is not one list_locks gave: pass the next_cursor of the previous answer unchanged, or leave it out for the first page",
                truncate(c, 40)
            )));
        }
        let mut names = self.store().held_names().await?;
        // `*` (the default) matches every name: skip matching ten thousand of them.
        if pattern != "*" {
            names.retain(|n| {
                glob.matches(n)
                    || n.strip_prefix("resource:")
                        .is_some_and(|bare| glob.matches(bare))
            });
        }
        names.sort_unstable();
        names.dedup();
        let total_count = names.len();
        let start = cursor.map_or(0, |c| names.partition_point(|n| n.as_str() <= c));
        let page = &names[start..(start + limit).min(names.len())];
        let more = start + page.len() < names.len();
        // Read only this page's records (a lock released in between is left out), and its
        // queues, so nobody has to ask check_lock per lock for the waiter counts.
        let (listing, queues) = tokio::join!(
            self.store().held_locks(page, self.tiers()),
            self.store().queues(page)
        );
        let (listing, queues) = (listing?, queues?);
        let waiting: std::collections::HashMap<&str, u32> = queues
            .iter()
            .map(|q| (q.name.as_str(), q.waiters.len() as u32))
            .collect();
        let locks: Vec<LockView> = listing
            .locks
            .iter()
            .map(|h| LockView {
                waiters: Some(waiting.get(h.lock.name.as_str()).copied().unwrap_or(0)),
                ..lock_view(h, caller, listing.now_ms)
            })
            .collect();
        Ok(LockList {
            pattern: pattern.to_string(),
            count: locks.len(),
            total_count,
            next_cursor: more.then(|| page.last().cloned()).flatten(),
            locks,
        })
    }
}

fn lock_glob(pattern: &str) -> Result<glob::Pattern, ServiceError> {
    if pattern.len() > 200 || pattern.chars().any(|c| c.is_control()) {
        return Err(ServiceError::invalid(format!(
            "pattern {:?} is not usable: up to 200 printable characters, a glob such as * or resource:* or wave:5c*",
            truncate(pattern, 40)
        )));
    }
    glob::Pattern::new(pattern).map_err(|e| {
        ServiceError::invalid(format!(
            "pattern {:?} is not a glob ({e}); use * ? and [abc], e.g. wave:5c* or *",
            truncate(pattern, 40)
        ))
    })
}

fn page_limit(limit: Option<u32>) -> Result<usize, ServiceError> {
    match limit.unwrap_or(DEFAULT_LIST_LIMIT) {
        n @ 1..=MAX_LIST_LIMIT => Ok(n as usize),
        n => Err(ServiceError::invalid(format!(
            "limit {n} is out of range: 1 to {MAX_LIST_LIMIT} locks per answer (default {DEFAULT_LIST_LIMIT}); page through more with next_cursor"
        ))),
    }
}
