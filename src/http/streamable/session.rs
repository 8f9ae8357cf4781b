//! One Streamable-HTTP session: the queue into its MCP service, the router of what the
//! service sends, and when it was last active.

use std::{
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rmcp::{
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::streamable_http_server::session::SessionId,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{error::HttpSessionError, router::Router};

/// Client messages waiting for the service. Boxed, because a tokio queue allocates its slots
/// 32 at a time whatever its capacity: 32 unboxed messages are ~16 KB per idle session.
pub(crate) const INBOUND_QUEUE: usize = 16;

pub struct Session {
    pub id: SessionId,
    inbound: mpsc::Sender<Box<ClientJsonRpcMessage>>,
    router: Mutex<Router>,
    /// Cancelled when the session ends (DELETE, idle timeout, service ended, shutdown).
    pub ct: CancellationToken,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last message either way.
    last_active_ms: AtomicU64,
}

impl Session {
    pub fn new(
        id: SessionId,
        retry: Option<Duration>,
        ct: CancellationToken,
        epoch: Instant,
    ) -> (Session, mpsc::Receiver<Box<ClientJsonRpcMessage>>) {
        let (inbound, rx) = mpsc::channel(INBOUND_QUEUE);
        let session = Session {
            id,
            inbound,
            router: Mutex::new(Router::new(retry)),
            ct,
            epoch,
            last_active_ms: AtomicU64::new(0),
        };
        session.touch();
        (session, rx)
    }

    /// The router, for one synchronous step. A panic inside cannot leave it half-updated in
    /// a way that matters more than the panic itself (each step is a few map operations), so
    /// a poisoned lock is used as is.
    pub(crate) fn router(&self) -> MutexGuard<'_, Router> {
        self.router.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a client message to the service; waits while its queue is full, never past the
    /// end of the session.
    pub async fn push(&self, message: ClientJsonRpcMessage) -> Result<(), HttpSessionError> {
        self.touch();
        let closed = || HttpSessionError::Closed(self.id.clone());
        tokio::select! {
            sent = self.inbound.send(Box::new(message)) => sent.map_err(|_| closed()),
            () = self.ct.cancelled() => Err(closed()),
        }
    }

    /// Routes a message of the service to its stream (synchronous: keeps the service's order).
    pub fn deliver(&self, message: ServerJsonRpcMessage) -> Result<(), HttpSessionError> {
        if self.ct.is_cancelled() {
            return Err(HttpSessionError::Closed(self.id.clone()));
        }
        self.touch();
        self.router().deliver(message);
        Ok(())
    }

    /// Ends the session: its service stops reading and every stream ends.
    pub fn close(&self) {
        self.ct.cancel();
        self.router().close_all();
    }

    pub fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_active_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the session will have been idle for `timeout`, as of its last activity.
    pub fn idle_deadline(&self, timeout: Duration) -> tokio::time::Instant {
        let last = Duration::from_millis(self.last_active_ms.load(Ordering::Relaxed));
        tokio::time::Instant::from_std(self.epoch + last + timeout)
    }
}
