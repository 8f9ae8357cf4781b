//! The map of live SSE connections, keyed by connection id (the `sessionId` of POSTs).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a POST handler needs to reach one live connection.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Queue into the connection's MCP service. Messages are boxed in both queues: a tokio
    /// queue allocates its slots 32 at a time, whatever its capacity, so 32 unboxed messages
    /// cost an idle connection ~16 KB per queue, 32 boxes 256 bytes.
    pub inbound: mpsc::Sender<Box<ClientJsonRpcMessage>>,
    /// Queue onto the connection's SSE stream; used to answer a malformed request by id so
    /// the client does not wait for a reply that will never come.
    pub outbound: mpsc::Sender<Box<ServerJsonRpcMessage>>,
    /// The named session bound at GET time, if any. POSTs may repeat it but never change it.
    pub bound_session: Option<String>,
    /// Cancelled when the connection ends for any reason (stream dropped, service ended,
    /// stalled client, daemon shutdown).
    pub ct: CancellationToken,
}

/// Shared, cheaply cloned map of live connections.
///
/// A plain `std` mutex is enough: every critical section is a single map operation and never
/// awaits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    inner: Arc<Mutex<HashMap<String, Arc<Connection>>>>,
}

impl Registry {
    pub fn insert(&self, id: String, connection: Arc<Connection>) {
        self.lock().insert(id, connection);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Connection>> {
        self.lock().get(id).cloned()
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// A panic while holding the lock cannot leave the map half-updated (each operation is a
    /// single `HashMap` call), so a poisoned lock is safe to keep using.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Connection>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
