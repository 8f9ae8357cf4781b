//! The sd_notify protocol, against a fake `NOTIFY_SOCKET`: the real binary is started with
//! the variables systemd would set, and the test reads the datagrams systemd would get.

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::binary;

/// Reads datagrams until one contains `wanted`; returns every datagram read so far.
fn read_until(sock: &UnixDatagram, wanted: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = msg.lines().any(|l| l == wanted);
                seen.push(msg);
                if done {
                    return seen;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("reading the notify socket: {e}"),
        }
    }
    panic!("no {wanted} within {within:?}; got {seen:?}");
}

/// A minimal HTTP/1.1 GET (the test is synchronous; no client library needed).
fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(host).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = conn.read_to_string(&mut out);
    out
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the daemon did not exit within {within:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ready_watchdog_and_stopping_reach_systemd_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&socket_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let mut child = binary::command(dir.path(), &["serve", "--port", "0"])
        .env("NOTIFY_SOCKET", &socket_path)
        // 300 ms: pings every 150 ms, so the test sees one quickly.
        .env("WATCHDOG_USEC", "300000")
        .env("MCP_COORD_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let ready = read_until(&sock, "READY=1", Duration::from_secs(20));
    let ready_msg = ready.last().unwrap();
    assert!(
        ready_msg.contains("STATUS=serving on http://127.0.0.1:"),
        "READY=1 comes with a status line naming the address: {ready_msg:?}"
    );
    // The status names a real, bound port: the daemon answers /health there.
    let url = ready_msg
        .lines()
        .find_map(|l| l.strip_prefix("STATUS=serving on "))
        .and_then(|l| l.split(';').next())
        .unwrap()
        .to_string();
    assert!(
        http_get(&url, "/health").starts_with("HTTP/1.1 200"),
        "GET {url}/health answers 200 after READY=1"
    );

    read_until(&sock, "WATCHDOG=1", Duration::from_secs(5));
    read_until(&sock, "WATCHDOG=1", Duration::from_secs(5));

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    read_until(&sock, "STOPPING=1", Duration::from_secs(10));
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a clean stop: {status:?}"
    );
}

#[test]
fn no_watchdog_pings_unless_systemd_asks_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&socket_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut child = binary::command(dir.path(), &["serve", "--port", "0"])
        .env("NOTIFY_SOCKET", &socket_path)
        // WATCHDOG_PID names another process: the watchdog is not ours.
        .env("WATCHDOG_USEC", "200000")
        .env("WATCHDOG_PID", "1")
        .env("MCP_COORD_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    read_until(&sock, "READY=1", Duration::from_secs(20));
    // Four would-be periods: nothing but silence.
    let mut buf = [0u8; 4096];
    let quiet_until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < quiet_until {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]);
            assert!(!msg.contains("WATCHDOG=1"), "unexpected ping: {msg:?}");
        }
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    read_until(&sock, "STOPPING=1", Duration::from_secs(10));
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10)).code(),
        Some(0)
    );
}

#[test]
fn under_systemd_logs_are_one_json_object_per_line_for_journalctl_o_cat() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary::command(dir.path(), &["serve", "--port", "0"])
        // What systemd sets for every service: the format is detected, not configured.
        .env("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
        .env("MCP_COORD_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let start: serde_json::Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {first}"));
    // The one start line: version, address, store and config sources.
    let message = start["message"].as_str().unwrap();
    assert!(
        message.contains("listening on http://127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains(env!("CARGO_PKG_VERSION")), "{message}");
    assert!(message.contains("store: embedded"), "{message}");
    assert!(message.contains("config: defaults"), "{message}");
    assert_eq!(start["level"], "INFO");
}
