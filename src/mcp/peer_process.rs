//! Which local process is at the other end of an MCP request's TCP connection — so that a
//! Claude Code agent's connection is its session from its very first tool call, with no
//! handshake that can be lost.
//!
//! Why: the `bind_session` handshake (a UserPromptSubmit `mcp_tool` hook) binds the agent's
//! connection once per prompt. After a daemon restart, Claude's Streamable-HTTP client only
//! learns that its MCP session is gone from the 404 that answers that very hook call; it
//! initializes a new session, the hook is not repeated, and the prompt's tool calls would act
//! as a generated session. The agent's hooks tell the daemon their Claude Code process id
//! (`coord.claude_pid`, kept in memory by `service::claude_bindings::ClaudeProcesses`); a
//! connection that is not bound yet is bound to the session of the Claude process that owns
//! its client socket.
//!
//! How (Linux, loopback clients of the same user only): the client's socket is the line of
//! `/proc/net/tcp{,6}` whose local address is the request's peer and whose remote address is
//! our end; its inode names it; the process is the candidate whose `/proc/<pid>/fd` holds
//! `socket:[inode]`. Only pids the hooks reported are searched, never the whole of `/proc`.
//! Anything unreadable simply means "not found" and the connection stays as it was.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The two ends of a request's TCP connection; the HTTP edge inserts it into each request's
/// extensions (`http/peer.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddrs {
    /// The client's address (its end).
    pub peer: SocketAddr,
    /// Our end, when known.
    pub local: Option<SocketAddr>,
}

/// The candidate process (by pid) that owns the client end of `addrs`, if any. Blocking
/// file reads: call it from `spawn_blocking`.
pub fn owner(addrs: PeerAddrs, candidates: &[u32]) -> Option<u32> {
    if !addrs.peer.ip().is_loopback() && !is_mapped_loopback(addrs.peer.ip()) {
        return None;
    }
    let inode = client_inode(addrs)?;
    let wanted = format!("socket:[{inode}]");
    candidates.iter().copied().find(|pid| {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str())
        })
    })
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        IpAddr::V4(_) => false,
    }
}

/// The inode of the client's socket: local = our peer, remote = our end.
fn client_inode(addrs: PeerAddrs) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let (local, remote, inode) = parse_line(line)?;
                let ours = same(local, addrs.peer) && addrs.local.is_none_or(|l| same(remote, l));
                (ours && inode != 0).then_some(inode)
            })
        })
}

/// Addresses compare across families (`127.0.0.1` = `::ffff:127.0.0.1`).
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

/// One `/proc/net/tcp{,6}` line: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode …`.
fn parse_line(line: &str) -> Option<(SocketAddr, SocketAddr, u64)> {
    let mut cols = line.split_whitespace();
    let _sl = cols.next()?;
    let local = parse_addr(cols.next()?)?;
    let remote = parse_addr(cols.next()?)?;
    let inode = cols.nth(6)?.parse().ok()?;
    Some((local, remote, inode))
}

/// `0100007F:1F90` (IPv4) or 32 hex digits `:port` (IPv6): the kernel prints each 32-bit
/// word of the address as a number in its own byte order; the port is plain hex.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&ip[i * 8..i * 8 + 8])?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp_lines() {
        let v4 = "   3: 0100007F:B6A2 0100007F:1F92 01 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1";
        let (l, r, inode) = parse_line(v4).unwrap();
        assert_eq!(l, "127.0.0.1:46754".parse().unwrap());
        assert_eq!(r, "127.0.0.1:8082".parse().unwrap());
        assert_eq!(inode, 123456);
        let v6 = "   0: 0000000000000000FFFF00000100007F:B6A2 00000000000000000000000001000000:1F92 01 00000000:00000000 00:00000000 00000000  1000        0 42 1";
        let (l, r, inode) = parse_line(v6).unwrap();
        assert!(same(l, "127.0.0.1:46754".parse().unwrap()), "{l}");
        assert_eq!(r, "[::1]:8082".parse().unwrap());
        assert_eq!(inode, 42);
    }

    /// This very process owns the client end of a loopback connection it opened.
    #[test]
    fn finds_the_owner_of_a_loopback_client() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        let addrs = PeerAddrs {
            peer,
            local: Some(listener.local_addr().unwrap()),
        };
        let me = std::process::id();
        assert_eq!(owner(addrs, &[1, me]), Some(me));
        assert_eq!(owner(addrs, &[1]), None);
        drop(client);
        let remote = PeerAddrs {
            peer: "192.0.2.1:4000".parse().unwrap(),
            local: None,
        };
        assert_eq!(owner(remote, &[me]), None, "only loopback clients");
    }
}
