//! Is the client at the other end of this request's TCP connection still there? Provides
//! [`HungUp`] to every MCP request (see `mcp/delivery.rs` for who asks), and the
//! connection's addresses ([`PeerAddrs`], for `mcp/peer_process.rs` and the audit log).
//!
//! A lock waiter over Streamable HTTP waits inside one POST whose answer is an SSE stream;
//! rmcp keeps the handler running when that stream's reader goes away (the spec allows a
//! client to resume), and hyper only notices a closed connection when it next writes to it
//! (a keep-alive ping, seconds later). A client that was SIGKILLed has its socket closed by
//! its kernel at once, though: the FIN is already in our socket. So each connection records
//! its socket ([`PeerSocket`], given to every request as axum's `ConnectInfo` by
//! `http/serve.rs`), and a waiter
//! asks it, without reading anything, whether the peer has hung up.
//!
//! The check is only asked while the request is in flight, when hyper still owns the
//! socket. If hyper has closed it meanwhile, its number may have been reused: the socket's
//! addresses are compared with the ones recorded at accept, and a mismatch also means that
//! our connection is gone.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

use std::sync::Arc;

use axum::extract::Request;
use axum::extract::connect_info::ConnectInfo;
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::TcpStream;

use super::serve::Accepted;

use crate::mcp::delivery::HungUp;
use crate::mcp::peer_process::PeerAddrs;

/// Middleware: gives the request a [`HungUp`] probe of its connection's socket (when the
/// server records sockets; an in-process router without them serves as before).
pub async fn mark_hang_up(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(socket)) = request
        .extensions()
        .get::<ConnectInfo<PeerSocket>>()
        .cloned()
    {
        request
            .extensions_mut()
            .insert(HungUp(Arc::new(move || socket.is_gone())));
        // Who is at the other end (`mcp/peer_process.rs` binds a Claude agent's connection).
        request.extensions_mut().insert(PeerAddrs {
            peer: socket.peer,
            local: socket.local,
        });
    }
    next.run(request).await
}

/// The accepted socket of one HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct PeerSocket {
    fd: RawFd,
    local: Option<SocketAddr>,
    peer: SocketAddr,
}

/// Plain TCP (the daemon's listener, `http/listener.rs`, sets `TCP_NODELAY` on each).
impl Accepted for TcpStream {
    fn peer_socket(&self, peer: SocketAddr) -> PeerSocket {
        PeerSocket::accepted(self, peer)
    }
}

/// HTTPS (`tls/listener.rs`): the TCP socket under the TLS stream.
impl Accepted for tokio_rustls::server::TlsStream<TcpStream> {
    fn peer_socket(&self, peer: SocketAddr) -> PeerSocket {
        PeerSocket::accepted(self.get_ref().0, peer)
    }
}

impl PeerSocket {
    fn accepted(io: &TcpStream, peer: SocketAddr) -> Self {
        Self {
            fd: io.as_raw_fd(),
            local: io.local_addr().ok(),
            peer,
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// True when the client has closed (or reset) its end, or the connection is gone.
    /// Never blocks; when the kernel cannot tell, the client counts as there.
    pub fn is_gone(&self) -> bool {
        if !self.is_same_socket() {
            return true;
        }
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one pollfd on the stack, a zero timeout; poll(2) only reads the fd number.
        let ready = unsafe { libc::poll(&mut pfd, 1, 0) };
        ready > 0
            && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
    }

    /// Does our fd number still name the socket accepted for this connection?
    fn is_same_socket(&self) -> bool {
        let (Some(local), Some(peer)) = (
            sock_addr(self.fd, libc::getsockname),
            sock_addr(self.fd, libc::getpeername),
        ) else {
            // Not a connected socket any more (closed, or reused for something else).
            return false;
        };
        peer == self.peer && self.local.is_none_or(|l| l == local)
    }
}

type AddrCall =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

/// `getsockname` / `getpeername` of `fd` as a `SocketAddr` (IPv4 or IPv6 only).
fn sock_addr(fd: RawFd, call: AddrCall) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain data, large enough for any address; the kernel
    // writes at most `len` bytes into it.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let rc = unsafe { call(fd, (&raw mut storage).cast(), &mut len) };
    if rc != 0 {
        return None;
    }
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(&raw const storage).cast() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(&raw const storage).cast() };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::from((ip, u16::from_be(a.sin6_port))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair, as the accept loop records the server side.
    async fn pair() -> (PeerSocket, tokio::net::TcpStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let probe = PeerSocket {
            fd: server.as_raw_fd(),
            local: server.local_addr().ok(),
            peer,
        };
        (probe, server, client)
    }

    #[tokio::test]
    async fn an_open_connection_is_there_even_with_unread_data() {
        use tokio::io::AsyncWriteExt;
        let (probe, _server, mut client) = pair().await;
        assert!(!probe.is_gone());
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!probe.is_gone(), "pipelined bytes are not a hang-up");
    }

    #[tokio::test]
    async fn a_closed_client_is_gone_at_once() {
        let (probe, _server, client) = pair().await;
        drop(client);
        let mut gone = false;
        for _ in 0..100 {
            if probe.is_gone() {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(gone, "the FIN is seen without reading");
    }

    #[tokio::test]
    async fn a_closed_or_reused_fd_is_gone() {
        let (probe, server, _client) = pair().await;
        drop(server);
        // The number may be free, or taken by another socket: either way not ours.
        let (_other, _s2, _c2) = pair().await;
        assert!(probe.is_gone());
    }
}
