//! The daemon's TCP listener: every accepted socket gets `TCP_NODELAY`.
//!
//! hyper writes a Streamable-HTTP answer (headers, then SSE chunks, then the end of the
//! stream) in several small segments. With Nagle's algorithm on, the second small segment
//! waits until the first is ACKed, and a keep-alive client that does not quick-ACK (Node's
//! `fetch`, which Claude Code's MCP client uses) delays that ACK by ~40 ms: every tool call
//! took ~40 ms instead of well under one (issue 18). A client that opens a new connection per
//! request (curl) never showed it. `benches/locks.rs` has a Node keep-alive row so the stall
//! cannot come back unnoticed.
//!
//! The TLS listener (`tls/listener.rs`) accepts through [`nodelay`] too, so `TCP_NODELAY` is
//! set before its handshake; any further listener must do the same.

use std::net::SocketAddr;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose accepted sockets have `TCP_NODELAY` set. (Our own type rather than
/// axum's `tap_io`, so `http/peer.rs` can implement `Connected` for its streams.)
pub struct NodelayListener(TcpListener);

/// Wraps `listener` so every accepted socket has `TCP_NODELAY` set.
pub fn nodelay(listener: TcpListener) -> NodelayListener {
    NodelayListener(listener)
}

impl Listener for NodelayListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        // axum's accept loop for a TcpListener (it retries and backs off on errors).
        let (stream, addr) = Listener::accept(&mut self.0).await;
        if let Err(e) = stream.set_nodelay(true) {
            // The connection still works, only slower for keep-alive clients.
            tracing::debug!("cannot set TCP_NODELAY on an accepted socket: {e}");
        }
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = plain.local_addr().unwrap();
        let mut listener = nodelay(plain);
        let _client = TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = Listener::accept(&mut listener).await;
        assert!(
            server_side.nodelay().unwrap(),
            "the accepted socket must have TCP_NODELAY"
        );
    }
}
