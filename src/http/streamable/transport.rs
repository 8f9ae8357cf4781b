//! The rmcp [`Transport`] of one Streamable-HTTP session, as the MCP service sees it.
//!
//! `send` routes each message straight onto its SSE stream in the caller's task: rmcp calls
//! `send` in order from its service loop, so messages keep their order without a session
//! task in between (rmcp's own session manager runs one per session, and every call
//! crossed it twice through channels).

use std::{sync::Arc, time::Duration};

use rmcp::{
    RoleServer,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use tokio::sync::mpsc;

use super::{error::HttpSessionError, session::Session};

pub struct SessionTransport {
    pub session: Arc<Session>,
    pub inbound: mpsc::Receiver<Box<ClientJsonRpcMessage>>,
    /// The session ends after this long without a message either way (`None`: never).
    pub idle_timeout: Option<Duration>,
}

impl Transport<RoleServer> for SessionTransport {
    type Error = HttpSessionError;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        std::future::ready(self.session.deliver(item))
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            let idle = self.idle_timeout.map(|t| self.session.idle_deadline(t));
            let expired = async {
                match idle {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = self.inbound.recv() => return message.map(|m| *m),
                () = self.session.ct.cancelled() => return None,
                () = expired => {
                    // Activity since the deadline was computed moves it; look again.
                    let timeout = self.idle_timeout.unwrap_or(Duration::MAX);
                    if self.session.idle_deadline(timeout) <= tokio::time::Instant::now() {
                        tracing::info!(
                            session = %self.session.id,
                            ?timeout,
                            "Streamable-HTTP session idle for server.mcp_idle_timeout_seconds; closed"
                        );
                        self.session.close();
                        return None;
                    }
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.session.close();
        self.inbound.close();
        Ok(())
    }
}
