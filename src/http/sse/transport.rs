//! The rmcp [`Transport`] of one SSE connection: two bounded queues and a cancellation token.
//!
//! POST handlers push client messages into `inbound`; the service's replies go into
//! `outbound`, which the SSE stream drains. Neither side ever blocks without a time limit, so
//! a client that stops reading cannot make the daemon hold unbounded memory or hang.

use std::{sync::Arc, time::Duration};

use rmcp::{
    RoleServer,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use tokio::sync::mpsc::{self, error::SendTimeoutError};
use tokio_util::sync::CancellationToken;

/// Why a message could not be handed to the SSE stream.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseTransportError {
    /// The connection is already closed (stream dropped, shut down, or cancelled).
    #[error("SSE connection {0} is closed")]
    Closed(Arc<str>),
    /// The client stopped reading: the outbound queue stayed full for the whole timeout, so
    /// the connection was closed instead of buffering without bound.
    #[error("SSE connection {0} stalled: client did not read for {1:?}; connection closed")]
    Stalled(Arc<str>, Duration),
}

/// Server side of one legacy-SSE connection, handed to `ServiceExt::serve_with_ct`.
pub(crate) struct SseTransport {
    pub connection_id: Arc<str>,
    /// Boxed messages: see `registry::Connection`.
    pub inbound: mpsc::Receiver<Box<ClientJsonRpcMessage>>,
    pub outbound: mpsc::Sender<Box<ServerJsonRpcMessage>>,
    pub ct: CancellationToken,
    pub send_timeout: Duration,
    /// A message already read (to decide how the connection opens), handed out first.
    pub pending: Option<ClientJsonRpcMessage>,
}

impl Transport<RoleServer> for SseTransport {
    type Error = SseTransportError;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outbound = self.outbound.clone();
        let ct = self.ct.clone();
        let id = self.connection_id.clone();
        let timeout = self.send_timeout;
        async move {
            let sent = tokio::select! {
                sent = outbound.send_timeout(Box::new(item), timeout) => sent,
                () = ct.cancelled() => return Err(SseTransportError::Closed(id)),
            };
            match sent {
                Ok(()) => Ok(()),
                Err(SendTimeoutError::Closed(_)) => Err(SseTransportError::Closed(id)),
                Err(SendTimeoutError::Timeout(_)) => {
                    tracing::warn!(
                        connection_id = %id,
                        ?timeout,
                        "SSE client stopped reading (outbound queue full); closing the connection"
                    );
                    ct.cancel();
                    Err(SseTransportError::Stalled(id, timeout))
                }
            }
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        if let Some(message) = self.pending.take() {
            return Some(message);
        }
        tokio::select! {
            message = self.inbound.recv() => message.map(|m| *m),
            () = self.ct.cancelled() => None,
        }
    }

    /// The service is done with this connection: end the stream and stop accepting POSTs.
    async fn close(&mut self) -> Result<(), Self::Error> {
        self.ct.cancel();
        self.inbound.close();
        Ok(())
    }
}
