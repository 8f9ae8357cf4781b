//! The daemon SIGKILLed during contention and started again (issue 14): every grant,
//! release and message it acknowledged is still there, no token is granted twice, clients
//! reconnect to the same URL. Embedded store (the write-through SQLite file) and Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;

use super::{Lcg, try_call};
use crate::support::client::{hook_credential, test_credential, try_connect_http};
use crate::support::process::DaemonProcess;
use crate::support::redis::RedisServer;

const WORKERS: usize = 6;
const CALL_WITHIN: Duration = Duration::from_secs(10);

/// What the daemon acknowledged before it died, per worker.
#[derive(Default)]
struct Acked {
    /// Every token granted for the contended lock.
    tokens: Vec<u64>,
    /// Message bodies the observer must find.
    messages: Vec<String>,
    /// The worker's own lock and its token (acquired once, never released).
    own: Option<u64>,
    /// The last acknowledged thing about the contended lock: Some(token) = holds it.
    holds_shared: Option<u64>,
    /// A release was sent and not answered: it may or may not have been applied.
    release_in_flight: bool,
}

async fn worker(base: String, i: usize, acked: Arc<Mutex<Acked>>) {
    let name = format!("w{i}");
    // Its credential, so that it can be acted as again after the restart.
    let credential = test_credential(&base, &name, None).await;
    let Ok(c) = try_connect_http(
        &format!("{base}/mcp"),
        &[
            ("X-Coord-Session", &name),
            ("X-Coord-Credential", &credential),
        ],
    )
    .await
    else {
        return;
    };
    let own = try_call(
        &c,
        "acquire_lock",
        json!({"lock_name": format!("own-{i}"), "timeout_seconds": 600}),
        CALL_WITHIN,
    )
    .await;
    match own {
        Ok(r) if !r.is_error => acked.lock().own = r.json["token"].as_u64(),
        _ => return,
    }
    for n in 0.. {
        let Ok(r) = try_call(
            &c,
            "acquire_lock",
            json!({"lock_name": "shared", "timeout_seconds": 600, "wait_seconds": 3}),
            CALL_WITHIN,
        )
        .await
        else {
            return;
        };
        if r.is_error {
            tokio::task::yield_now().await;
            continue;
        }
        let token = r.json["token"].as_u64().unwrap();
        {
            let mut a = acked.lock();
            a.tokens.push(token);
            a.holds_shared = Some(token);
        }
        let body = format!("w{i} #{n} token {token}");
        match try_call(
            &c,
            "send_message_to_session",
            json!({"to": "observer", "message": body}),
            CALL_WITHIN,
        )
        .await
        {
            Ok(r) if !r.is_error => acked.lock().messages.push(body),
            Ok(_) => {}
            Err(_) => return,
        }
        acked.lock().release_in_flight = true;
        match try_call(
            &c,
            "release_lock",
            json!({"lock_name": "shared"}),
            CALL_WITHIN,
        )
        .await
        {
            Ok(r) if !r.is_error => {
                let mut a = acked.lock();
                a.holds_shared = None;
                a.release_in_flight = false;
            }
            _ => return,
        }
    }
}

async fn nothing_acknowledged_is_lost(redis_url: Option<&str>, seed: u64) {
    let mut rng = Lcg(seed);
    let mut daemon = DaemonProcess::start(redis_url, &[]);
    // The observer comes back after the restart as the same session: with its credential.
    let credential = test_credential(&daemon.base(), "observer", None).await;
    let as_observer = [
        ("X-Coord-Session", "observer"),
        ("X-Coord-Credential", credential.as_str()),
    ];
    let observer = try_connect_http(&daemon.mcp_url(), &as_observer)
        .await
        .unwrap();
    try_call(&observer, "whoami", json!({}), CALL_WITHIN)
        .await
        .unwrap();
    let acked: Vec<Arc<Mutex<Acked>>> = (0..WORKERS).map(|_| Arc::default()).collect();
    let tasks: Vec<_> = acked
        .iter()
        .enumerate()
        .map(|(i, a)| tokio::spawn(worker(daemon.base(), i, a.clone())))
        .collect();
    let run_for = Duration::from_millis(2000 + rng.below(2000));
    tokio::time::sleep(run_for).await;
    daemon.kill9();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(20), t).await;
    }
    daemon.restart();

    let c = try_connect_http(&daemon.mcp_url(), &as_observer)
        .await
        .expect("clients reconnect");
    let mut got: Vec<String> = Vec::new();
    loop {
        let inbox = try_call(
            &c,
            "get_session_messages",
            json!({"limit": 200}),
            CALL_WITHIN,
        )
        .await
        .unwrap();
        let page: Vec<String> = inbox.json["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["body"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        got.extend(page);
    }
    let mut all_tokens = Vec::new();
    let mut messages = 0;
    for (i, a) in acked.iter().enumerate() {
        // The workers are done: take what each acknowledged, no guard held across calls.
        let a = std::mem::take(&mut *a.lock());
        for m in &a.messages {
            assert!(
                got.contains(m),
                "acknowledged message {m:?} lost; inbox: {got:?}"
            );
        }
        messages += a.messages.len();
        all_tokens.extend(a.tokens.iter().copied());
        if let Some(own) = a.own {
            let check = try_call(
                &c,
                "check_lock",
                json!({"lock_name": format!("own-{i}")}),
                CALL_WITHIN,
            )
            .await
            .unwrap();
            assert_eq!(
                check.json["held"]["holder"],
                format!("w{i}"),
                "own-{i} lost: {}",
                check.text
            );
            assert_eq!(check.json["held"]["token"].as_u64(), Some(own));
        }
        if let Some(t) = a.holds_shared.filter(|_| !a.release_in_flight) {
            let check = try_call(
                &c,
                "check_lock",
                json!({"lock_name": "shared"}),
                CALL_WITHIN,
            )
            .await
            .unwrap();
            assert_eq!(
                check.json["held"]["token"].as_u64(),
                Some(t),
                "an acknowledged grant of shared was lost: {}",
                check.text
            );
        }
    }
    let grants = all_tokens.len();
    all_tokens.sort_unstable();
    all_tokens.dedup();
    assert_eq!(all_tokens.len(), grants, "a token was granted twice");
    assert!(grants > 0, "the run made no grant at all before the kill");

    // After the restart the lock goes on with higher tokens.
    let started = Instant::now();
    let w = try_connect_http(&daemon.mcp_url(), &[("X-Coord-Session", "after")])
        .await
        .unwrap();
    let holder = try_call(
        &c,
        "check_lock",
        json!({"lock_name": "shared"}),
        CALL_WITHIN,
    )
    .await
    .unwrap();
    if let Some(h) = holder.json["held"]["holder"].as_str() {
        let credential = hook_credential(&daemon.base(), h).expect("the worker's credential");
        let hc = try_connect_http(
            &daemon.mcp_url(),
            &[("X-Coord-Session", h), ("X-Coord-Credential", &credential)],
        )
        .await
        .unwrap();
        try_call(
            &hc,
            "release_lock",
            json!({"lock_name": "shared"}),
            CALL_WITHIN,
        )
        .await
        .unwrap();
    }
    let next = try_call(
        &w,
        "acquire_lock",
        json!({"lock_name": "shared"}),
        CALL_WITHIN,
    )
    .await
    .unwrap();
    let next = next.json["token"]
        .as_u64()
        .expect("granted after the restart");
    assert!(
        all_tokens.iter().all(|t| next > *t),
        "token {next} after the restart repeats or goes back"
    );
    println!(
        "daemon SIGKILLed after {:.2} s of contention ({} store): {grants} grants and {messages} \
         messages acknowledged, all found after the restart ({:.2} s to serve again)",
        run_for.as_secs_f64(),
        if redis_url.is_some() {
            "redis"
        } else {
            "embedded"
        },
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn a_killed_daemon_loses_nothing_it_acknowledged_on_the_embedded_store() {
    nothing_acknowledged_is_lost(None, 7).await;
}

#[tokio::test]
async fn a_killed_daemon_loses_nothing_it_acknowledged_on_redis() {
    let redis = RedisServer::start_persistent();
    nothing_acknowledged_is_lost(Some(&redis.url()), 8).await;
}
