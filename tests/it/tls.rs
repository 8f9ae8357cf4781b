//! HTTPS served by the daemon itself (`[tls]`, issue 16): real clients over TLS with a CA
//! made at test time — rmcp's client on Streamable HTTP, our legacy-SSE client, plain HTTPS
//! requests, curl when installed — and what must fail: plain HTTP to the HTTPS port, a
//! client that trusts another CA. A client that connects and never says hello holds up no
//! one.

use std::io::Read;
use std::time::Duration;

use serde_json::json;

use crate::support::client::{call, try_connect_http_with};
use crate::support::daemon::TestDaemon;
use crate::support::sse_client::SseClientTransport;
use crate::support::tls::TestCa;

#[tokio::test]
async fn both_mcp_transports_work_over_https_with_a_test_ca() {
    let ca = TestCa::new("transports");
    let mut d = TestDaemon::embedded(|s| ca.serve_with(s)).await;
    assert!(d.base.starts_with("https://"), "{}", d.base);

    let health = ca.client().get(format!("{}/health", d.base)).send().await;
    assert_eq!(health.expect("HTTPS /health answers").status(), 200);

    // Streamable HTTP: rmcp's own client, as the CLI uses it.
    let http = try_connect_http_with(
        ca.client(),
        &d.mcp_url(),
        &[("X-Coord-Session", "tls_http")],
    )
    .await
    .expect("MCP over https://…/mcp");
    call(&http, "acquire_lock", json!({ "lock_name": "tls-res" }))
        .await
        .ok();

    // Legacy SSE (what most Claude Code setups use): the stream and its POSTs over TLS.
    let transport = SseClientTransport::connect_with_client(
        &format!("{}?session=tls_sse", d.sse_url()),
        Default::default(),
        ca.client(),
    )
    .await
    .expect("SSE stream opens over https");
    let sse = rmcp::ServiceExt::serve((), transport)
        .await
        .expect("MCP over https://…/sse");
    let refused = call(&sse, "acquire_lock", json!({ "lock_name": "tls-res" })).await;
    // The lock taken over /mcp is seen over /sse: one daemon behind both.
    assert_eq!(refused.err()["holder"], "tls_http", "{}", refused.text);

    let _ = sse.cancel().await;
    let _ = http.cancel().await;
    d.stop().await;
}

#[tokio::test]
async fn plain_http_and_an_untrusted_certificate_fail_and_the_daemon_keeps_serving() {
    let ca = TestCa::new("refusals");
    let other = TestCa::new("other");
    let mut d = TestDaemon::embedded(|s| ca.serve_with(s)).await;
    let addr = d.daemon.as_ref().unwrap().addr;

    // Plain HTTP to the HTTPS port: a 400 that says to use https://, never the route.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("plain HTTP gets an answer");
    assert_eq!(plain.status(), 400);
    let text = plain.text().await.unwrap();
    assert!(
        text.contains("serves HTTPS only") && text.contains("use an https:// URL"),
        "{text}"
    );

    // A client that trusts another CA refuses our certificate.
    let wrong = other
        .client()
        .get(format!("{}/health", d.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let err = wrong.expect_err("a client trusting another CA must refuse the certificate");
    let chain = format!("{:?}", err);
    assert!(
        chain.to_lowercase().contains("certificate"),
        "the refusal names the certificate: {chain}"
    );

    // Neither failed handshake stopped the listener.
    let ok = ca.client().get(format!("{}/health", d.base)).send().await;
    assert_eq!(ok.expect("HTTPS still served").status(), 200);
    d.stop().await;
}

#[tokio::test]
async fn a_client_that_never_says_hello_does_not_block_others() {
    let ca = TestCa::new("silent");
    let mut d = TestDaemon::embedded(|s| ca.serve_with(s)).await;
    let addr = d.daemon.as_ref().unwrap().addr;

    // Connects, sends nothing, stays.
    let silent = std::net::TcpStream::connect(addr).unwrap();
    let client = ca.client();
    for _ in 0..3 {
        let r = client
            .get(format!("{}/health", d.base))
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        assert_eq!(
            r.expect("served while another client is silent").status(),
            200
        );
    }
    // Had the silent client held up the accept loop, the others would only have been served
    // after its handshake timed out and the daemon closed it. It is still open:
    silent.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    match (&silent).read(&mut byte) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the silent connection was closed or answered first: {other:?}"),
    }
    d.stop().await;
}

#[tokio::test]
async fn curl_trusts_the_daemon_with_cacert() {
    let Ok(curl) = which("curl") else {
        eprintln!("SKIPPED: curl not installed");
        return;
    };
    let ca = TestCa::new("curl");
    let mut d = TestDaemon::embedded(|s| ca.serve_with(s)).await;
    let run = |args: Vec<String>| {
        let curl = curl.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(curl)
                .args(args)
                .output()
                .expect("curl runs")
        })
    };
    let url = format!("{}/health", d.base);
    let trusted = run(vec![
        "-sS".into(),
        "--max-time".into(),
        "10".into(),
        "--cacert".into(),
        ca.ca.display().to_string(),
        url.clone(),
    ])
    .await
    .unwrap();
    assert!(
        trusted.status.success(),
        "curl --cacert: {}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&trusted.stdout).unwrap();
    assert!(body.get("status").is_some(), "{body}");

    // Without the CA curl refuses the self-made certificate (exit 60: peer certificate).
    let untrusted = run(vec!["-sS".into(), "--max-time".into(), "10".into(), url])
        .await
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(60), "{untrusted:?}");
    d.stop().await;
}

fn which(tool: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .ok_or(())
}

#[tokio::test]
async fn the_cli_and_the_setup_it_writes_use_https_with_the_ca() {
    use crate::support::binary;
    let ca = TestCa::new("cli");
    let mut d = TestDaemon::embedded(|s| ca.serve_with(s)).await;
    let cwd = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let mut cmd = binary::command(cwd.path(), &[]);
        cmd.args(args);
        tokio::task::spawn_blocking(move || cmd.output().expect("mcp-coord runs"))
    };
    let ca_file = ca.ca.display().to_string();
    let with = |rest: &[&str]| {
        let mut v: Vec<String> = vec!["--url".into(), d.base.clone()];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };

    // --ca-cert: the claim, the MCP connection and the tool call all go over TLS.
    let lock = run(with(&[
        "--ca-cert",
        &ca_file,
        "--session",
        "tls_cli",
        "lock",
        "tls-cli-res",
    ]))
    .await
    .unwrap();
    assert!(lock.status.success(), "{lock:?}");

    // The same through MCP_COORD_CA_CERT.
    let mut locks = binary::command(cwd.path(), &["--url", &d.base, "--json", "locks"]);
    locks.env("MCP_COORD_CA_CERT", &ca.ca);
    let locks = tokio::task::spawn_blocking(move || locks.output().unwrap())
        .await
        .unwrap();
    assert!(locks.status.success(), "{locks:?}");
    let listed = String::from_utf8_lossy(&locks.stdout);
    assert!(
        listed.contains("tls-cli-res") && listed.contains("tls_cli"),
        "the lock taken over TLS, with its holder: {listed}"
    );

    // Without the CA the daemon's certificate is refused, and the CLI says so.
    let refused = run(with(&["--session", "tls_cli", "locks"])).await.unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("certificate this machine does not trust") && err.contains("--ca-cert"),
        "{err}"
    );

    // A CA file that is not there is a usage error before anything is sent.
    let missing = run(with(&["--ca-cert", "/nonexistent/ca.pem", "locks"]))
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--ca-cert"));

    // On this machine's settings with [tls], mcp-config and hooks install write https URLs.
    let port = d.daemon.as_ref().unwrap().addr.port();
    std::fs::create_dir_all(cwd.path().join("config")).unwrap();
    std::fs::write(
        cwd.path().join("config/default.toml"),
        format!(
            "[server]\nport = {port}\n[tls]\ncert = {:?}\nkey = {:?}\n",
            ca.cert.display().to_string(),
            ca.key.display().to_string()
        ),
    )
    .unwrap();
    let config = run(vec!["mcp-config".into()]).await.unwrap();
    let text = String::from_utf8_lossy(&config.stdout);
    assert!(
        text.contains(&format!("https://127.0.0.1:{port}/sse")),
        "{text}"
    );
    let hooks = run(vec![
        "--ca-cert".into(),
        ca_file.clone(),
        "hooks".into(),
        "install".into(),
        "--dry-run".into(),
    ])
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&hooks.stdout);
    assert!(
        text.contains(&format!("--url https://127.0.0.1:{port}")) && text.contains("--ca-cert"),
        "{text}"
    );
    d.stop().await;
}

/// The README's recipe, exactly: a self-signed certificate made with `openssl req -x509`
/// (its own CA, no separate issuer), served by the daemon; curl with `--cacert cert.pem`
/// and the CLI with `--ca-cert cert.pem` trust it, and without it neither does.
#[tokio::test]
async fn the_readmes_self_signed_certificate_works_with_curl_and_the_cli() {
    use crate::support::binary;
    let (Ok(openssl), Ok(curl)) = (which("openssl"), which("curl")) else {
        eprintln!("SKIPPED: openssl or curl not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new(openssl)
        .current_dir(dir.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "825",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=coord.example",
            "-addext",
            "subjectAltName=DNS:coord.example,DNS:localhost,IP:127.0.0.1",
        ])
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{made:?}");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let mut d = TestDaemon::embedded(|s| {
        s.tls.cert = cert.display().to_string();
        s.tls.key = key.display().to_string();
    })
    .await;
    let cert_file = cert.display().to_string();
    let curl_health = |with_cert: bool| {
        let mut cmd = std::process::Command::new(&curl);
        cmd.args(["-sS", "--max-time", "10"]);
        if with_cert {
            cmd.args(["--cacert", &cert_file]);
        }
        cmd.arg(format!("{}/health", d.base));
        tokio::task::spawn_blocking(move || cmd.output().expect("curl runs"))
    };
    let trusted = curl_health(true).await.unwrap();
    assert!(trusted.status.success(), "{trusted:?}");
    assert_eq!(curl_health(false).await.unwrap().status.code(), Some(60));

    let cwd = tempfile::tempdir().unwrap();
    let cli = |with_cert: bool| {
        let mut args = vec!["--url", d.base.as_str()];
        if with_cert {
            args.extend(["--ca-cert", cert_file.as_str()]);
        }
        args.extend(["--session", "tls_self_signed", "lock", "self-signed-res"]);
        let mut cmd = binary::command(cwd.path(), &args);
        tokio::task::spawn_blocking(move || cmd.output().expect("mcp-coord runs"))
    };
    let lock = cli(true).await.unwrap();
    assert!(lock.status.success(), "{lock:?}");
    let refused = cli(false).await.unwrap();
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("--ca-cert"),
        "{refused:?}"
    );
    d.stop().await;
}
