//! The daemon's HTTPS listener for the accept loop (`http/serve.rs`): TCP accepted as by the
//! plain listener (`TCP_NODELAY` set before the handshake, see `http/listener.rs`), then the
//! TLS handshake.
//!
//! axum calls `accept` in one loop and only starts serving a connection once `accept` has
//! returned it, so a handshake done inside `accept` would let one client that connects and
//! sends nothing stop every other client from being served. Here a task accepts TCP and
//! gives each connection its own handshake task with a time limit; finished handshakes
//! reach `accept` through a channel. A failed or timed-out handshake (a client that does not
//! trust our certificate) is logged at debug and only closes that connection; a plain-HTTP
//! request to the HTTPS port gets a 400 saying to use https://.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&tls, stream)).await {
                Ok(Ok(Some(stream))) => {
                    // The server is stopping when nobody receives: the connection just closes.
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Ok(None)) => tracing::debug!("plain HTTP from {peer} on the HTTPS port"),
                Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                Err(_) => tracing::debug!(
                    "TLS handshake with {peer} not finished within {HANDSHAKE_TIMEOUT:?}; closed"
                ),
            }
        });
    }
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What a plain-HTTP client gets instead of a failed handshake it cannot explain (JSON with
/// a `message`, as the daemon's other refusals, so the CLI shows the sentence).
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
    Content-Type: application/json\r\n\
    Connection: close\r\n\
    Content-Length: 128\r\n\r\n\
    {\"error\": \"https_only\", \"message\": \"this mcp-coord daemon serves HTTPS only ([tls] is set): use an https:// URL for this port\"}\n";

/// The TLS handshake, or `None` after answering a plain-HTTP request with a 400 that says
/// to use https:// (a person with curl, or a client configured with http://, sees why).
async fn handshake(
    tls: &TlsAcceptor,
    stream: TcpStream,
) -> std::io::Result<Option<TlsStream<TcpStream>>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 1 && first[0] != TLS_HANDSHAKE_RECORD {
        let mut stream = stream;
        stream.write_all(PLAIN_HTTP_ANSWER).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes (bounded; the caller's time limit too):
        // closing with its request unread would reset the connection and lose the answer.
        let mut sink = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while left > 0 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        return Ok(None);
    }
    tls.accept(stream).await.map(Some)
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
