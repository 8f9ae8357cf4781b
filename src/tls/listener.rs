//! The daemon's HTTPS listener for `axum::serve`: TCP accepted as by the plain listener
//! (`TCP_NODELAY` set before the handshake, see `http/listener.rs`), then the TLS handshake.
//!
//! axum calls `accept` in one loop and only starts serving a connection once `accept` has
//! returned it, so a handshake done inside `accept` would let one client that connects and
//! sends nothing stop every other client from being served. Here a task accepts TCP and
//! gives each connection its own handshake task with a time limit; finished handshakes
//! reach `accept` through a channel. A failed or timed-out handshake (a plain-HTTP request
//! to the HTTPS port, a client that does not trust our certificate) is logged at debug and
//! only closes that connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

use crate::http::listener::nodelay;

/// How long a client may take to finish the TLS handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for axum's accept loop.
const READY_QUEUE: usize = 64;

/// A TLS listener: accepted connections are already past their handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

/// Serves TLS with `config` on `listener` (already bound).
pub fn tls(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
    let local = listener.local_addr()?;
    let (tx, ready) = mpsc::channel(READY_QUEUE);
    let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
    Ok(TlsListener {
        ready,
        local,
        acceptor,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let mut tcp = nodelay(listener);
    loop {
        // axum's accept for TCP (it retries and backs off when out of file descriptors).
        let (stream, peer) = Listener::accept(&mut tcp).await;
        let (tls, ready) = (tls.clone(), ready.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    // The server is stopping when nobody receives: the connection just closes.
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                Err(_) => tracing::debug!(
                    "TLS handshake with {peer} not finished within {HANDSHAKE_TIMEOUT:?}; closed"
                ),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task ended (it never does by itself): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Drop for TlsListener {
    /// The server stopped: stop accepting (handshakes in flight end at their timeout).
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
