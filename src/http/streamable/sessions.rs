//! The live Streamable-HTTP sessions: rmcp's [`SessionManager`], kept in memory.
//!
//! rmcp's `LocalSessionManager` runs a task per session and reaches it through channels
//! and a one-shot reply for every request; this one routes in place (see `router.rs`), so a
//! call crosses two fewer tasks and an idle session holds no task or queue of its own
//! beyond its MCP service. The map is a plain `std` lock held for one map operation.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use futures::Stream;
use rmcp::{
    model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage},
    transport::{
        common::server_side_http::session_id,
        streamable_http_server::session::{ServerSseMessage, SessionId, SessionManager},
    },
};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::{error::HttpSessionError, session::Session, transport::SessionTransport};

pub struct HttpSessions {
    sessions: RwLock<HashMap<SessionId, Arc<Session>>>,
    idle_timeout: Option<Duration>,
    /// The `retry:` hint of each POST stream's priming event.
    retry: Option<Duration>,
    /// Parent of every session's token: the daemon's shutdown.
    ct: CancellationToken,
    epoch: Instant,
}

impl HttpSessions {
    pub fn new(
        idle_timeout: Option<Duration>,
        retry: Option<Duration>,
        ct: CancellationToken,
    ) -> HttpSessions {
        HttpSessions {
            sessions: RwLock::default(),
            idle_timeout,
            retry,
            ct,
            epoch: Instant::now(),
        }
    }

    /// True while the session exists (a DELETE removes it at once).
    pub fn contains(&self, id: &str) -> bool {
        self.map_read().contains_key(id)
    }

    fn get(&self, id: &SessionId) -> Result<Arc<Session>, HttpSessionError> {
        self.map_read()
            .get(id)
            .cloned()
            .ok_or_else(|| HttpSessionError::NotFound(id.clone()))
    }

    fn map_read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn map_write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionManager for HttpSessions {
    type Error = HttpSessionError;
    type Transport = SessionTransport;

    async fn create_session(&self) -> Result<(SessionId, SessionTransport), HttpSessionError> {
        let id = session_id();
        let (session, inbound) =
            Session::new(id.clone(), self.retry, self.ct.child_token(), self.epoch);
        let session = Arc::new(session);
        self.map_write().insert(id.clone(), session.clone());
        let transport = SessionTransport {
            session,
            inbound,
            idle_timeout: self.idle_timeout,
        };
        Ok((id, transport))
    }

    /// Hands `initialize` to the service and waits for its answer, which rmcp sends back to
    /// the client in one piece.
    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, HttpSessionError> {
        let session = self.get(id)?;
        let mut answer = session.router().open_request(&message, false);
        session.push(message).await?;
        while let Some(event) = answer.recv().await {
            if let Some(message) = event.message {
                return Ok(Arc::unwrap_or_clone(message));
            }
        }
        Err(HttpSessionError::Closed(id.clone()))
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, HttpSessionError> {
        Ok(self.contains(id))
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), HttpSessionError> {
        let removed = self.map_write().remove(id);
        if let Some(session) = removed {
            session.close();
        }
        Ok(())
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, HttpSessionError>
    {
        let session = self.get(id)?;
        // The route exists before the service can answer.
        let answer = session.router().open_request(&message, true);
        session.push(message).await?;
        Ok(ReceiverStream::new(answer))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), HttpSessionError> {
        let session = self.get(id)?;
        if matches!(message, JsonRpcMessage::Notification(_)) {
            session.router().client_message(&message);
        }
        session.push(message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, HttpSessionError>
    {
        let session = self.get(id)?;
        session.touch();
        let events = session.router().open_common();
        Ok(ReceiverStream::new(events))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, HttpSessionError>
    {
        let session = self.get(id)?;
        session.touch();
        let resume_error = |why: String| HttpSessionError::Resume {
            session: id.clone(),
            why,
        };
        let last = last_event_id.parse().map_err(resume_error)?;
        let events = session.router().resume(last).map_err(resume_error)?;
        Ok(ReceiverStream::new(events))
    }
}

impl Drop for HttpSessions {
    /// Ends every session still open (the daemon is stopping).
    fn drop(&mut self) {
        for session in self.map_write().values() {
            session.close();
        }
    }
}
