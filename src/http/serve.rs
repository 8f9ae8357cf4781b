//! The daemon's accept loop: what `axum::serve` does, plus an idle timeout for kept-alive
//! connections (issue 18).
//!
//! A client that keeps its HTTP connection open between requests (reqwest keeps one 90 s,
//! some clients forever) costs ~15 KB of hyper buffers per connection for as long as it does.
//! hyper can close a connection that starts no new request within a time (its header-read
//! timeout, which runs only while the connection waits for a request), but needs a timer for
//! it, and `axum::serve` gives it none. So the daemon serves each connection itself, with
//! hyper-util's builder, a tokio timer and `server.http_idle_seconds`. A response being
//! streamed (an SSE stream, a waiting call) is not idle and is never cut.
//!
//! Each request gets the connection's [`PeerSocket`] as axum's `ConnectInfo`, as
//! `into_make_service_with_connect_info` gave it. Shutdown is axum's: stop accepting, ask
//! every connection to finish gracefully, return when all have ended.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower::ServiceExt;

use super::peer::PeerSocket;

/// An accepted connection whose TCP socket can be named (plain TCP, or TLS over TCP).
pub trait Accepted: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn peer_socket(&self, peer: SocketAddr) -> PeerSocket;
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the open
/// connections to finish. `idle`: how long a kept-alive connection may wait for its next
/// request (`None`: forever).
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    idle: Option<Duration>,
    shutdown: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: Accepted,
{
    // Each connection holds a receiver of both: dropping `stop_tx` asks them to finish, and
    // `done_tx` is closed once the last one has ended (axum's scheme).
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let socket = io.peer_socket(peer);
        let service =
            router
                .clone()
                .map_request(move |request: http::Request<hyper::body::Incoming>| {
                    let mut request = request.map(Body::new);
                    request.extensions_mut().insert(ConnectInfo(socket));
                    request
                });
        let (mut stop, done) = (stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(idle);
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(io),
                TowerToHyperService::new(service),
            );
            let mut connection = pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!("connection from {peer} ended: {e}");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(stop_rx);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
}
