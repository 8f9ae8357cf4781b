//! The wait machinery of `acquire_lock`: what ties a wait to its connection, the queue
//! membership that must be left on every exit path, and sleeping until a related release.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::domain::lock_name::LockName;
use crate::service::Coordinator;
use crate::service::events::{Event, Events, QueueExit};
use crate::store::locks::AcquireRequest;

/// Ties a wait to its caller's connection: a wait ends when the request is cancelled or the
/// connection closes, and progress goes back to the client if it asked for it.
#[derive(Clone, Default)]
pub struct WaitContext {
    /// Cancelled when the request is cancelled or its connection ends.
    pub cancel: CancellationToken,
    /// Is the caller's connection still open? Asked before every attempt and after a grant.
    pub connection_open: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// Called every few seconds while waiting; must not block.
    pub progress: Option<Arc<dyn Fn(WaitProgress) + Send + Sync>>,
}

impl WaitContext {
    pub(super) fn open(&self) -> bool {
        !self.cancel.is_cancelled() && self.connection_open.as_ref().is_none_or(|f| f())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WaitProgress {
    pub waited_seconds: f64,
    pub wait_seconds: f64,
    pub message: String,
}

/// Leaves the queue on every exit path that did not end in a grant, including the future
/// being dropped (request cancelled, client gone): the drop spawns the removal. Once the
/// wait was announced (`lock_queued`), every exit announces `lock_queue_left` with why.
pub(super) struct QueueGuard {
    store: Option<Arc<dyn crate::store::Store>>,
    name: String,
    session: String,
    waiter: Option<String>,
    /// Set by [`QueueGuard::announce`]: the channel to announce the exit on, and the store
    /// clock at the last attempt (with when that was, to date an exit by drop).
    announced: Option<(Events, i64, Instant)>,
}

impl QueueGuard {
    pub(super) fn new(coord: &Coordinator, req: &AcquireRequest) -> Self {
        Self {
            store: Some(coord.store().clone()),
            name: req.name.clone(),
            session: req.session.clone(),
            waiter: req.waiter.as_ref().map(|w| w.id.clone()),
            announced: None,
        }
    }

    /// Publishes `lock_queued` the first time the caller is seen in the queue.
    pub(super) fn announce(&mut self, events: &Events, position: u32, now_ms: i64) {
        if self.waiter.is_none() {
            return;
        }
        match &mut self.announced {
            Some((_, at, seen)) => (*at, *seen) = (now_ms, Instant::now()),
            None => {
                events.publish(Event::LockQueued {
                    lock: self.name.clone(),
                    session: self.session.clone(),
                    position,
                    at_ms: now_ms,
                });
                self.announced = Some((events.clone(), now_ms, Instant::now()));
            }
        }
    }

    fn announce_exit(&mut self, outcome: QueueExit, at_ms: Option<i64>) {
        if let Some((events, last, seen)) = self.announced.take() {
            events.publish(Event::LockQueueLeft {
                lock: self.name.clone(),
                session: self.session.clone(),
                outcome,
                at_ms: at_ms.unwrap_or(last + seen.elapsed().as_millis() as i64),
            });
        }
    }

    /// Granted: the store took the waiter out of the queue itself.
    pub(super) fn disarm(&mut self, now_ms: i64) {
        self.waiter = None;
        self.announce_exit(QueueExit::Granted, Some(now_ms));
    }

    pub(super) async fn leave(&mut self, now_ms: i64) {
        self.announce_exit(QueueExit::TimedOut, Some(now_ms));
        if let (Some(store), Some(w)) = (&self.store, self.waiter.take())
            && let Err(e) = store.leave_queue(&self.name, &w).await
        {
            tracing::warn!("cannot leave the queue of {}: {e}", self.name);
        }
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        self.announce_exit(QueueExit::Cancelled, None);
        let (Some(store), Some(w)) = (self.store.take(), self.waiter.take()) else {
            return;
        };
        let name = std::mem::take(&mut self.name);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.leave_queue(&name, &w).await {
                    tracing::warn!("cannot leave the queue of {name}: {e}");
                }
            });
        }
    }
}

/// Sleeps until a related lock is released, `until`, or cancellation — whichever is first.
pub(super) async fn wait_for_release(
    events: &mut tokio::sync::broadcast::Receiver<String>,
    name: &LockName,
    until: Instant,
    cancel: &CancellationToken,
) {
    let sleep = tokio::time::sleep_until(until.into());
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            _ = cancel.cancelled() => return,
            ev = events.recv() => match ev {
                Ok(released) if name.is_related(&released) => return,
                Ok(_) => {}
                // Lagged: something may have been released; closed: fall back to the timer.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    sleep.as_mut().await;
                    return;
                }
            }
        }
    }
}
