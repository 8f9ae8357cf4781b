//! `mcp-coord hook --wait`: the waiting hook that wakes an idle agent. `hooks install`
//! registers it on SessionStart and Stop as an `asyncRewake` command hook, so Claude Code
//! runs it in the background while the agent sits at its prompt. It long-polls
//! `/hooks/claude/wait` until a message arrives that should wake the agent, claims it
//! (`/hooks/claude/claim`), writes it to stderr and exits 2: Claude then starts a new turn
//! with that text as a system reminder.
//!
//! Quiet by design: with the daemon down or restarting it retries with backoff and never
//! exits 2 with an error (that would wake the model for nothing); at its deadline, when
//! Claude exits, or when a newer waiter took over, it exits 0. It waits only in interactive
//! sessions: `claude -p` runs asyncRewake hooks in the foreground (it would hang), and there
//! the Stop block delivers tasks anyway.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::EXIT_OK;
use crate::service::wake::{ClaimArgs, Claimed, WakeArgs, WakeOutcome};

/// Exit status that makes Claude Code wake the model with our stderr.
pub const EXIT_WAKE: u8 = 2;
/// One long-poll asks the daemon to wait at most this long (then it asks again).
const POLL_SECONDS: u64 = 300;
/// Extra time the HTTP client allows beyond the poll before giving up on an answer.
const POLL_SLACK: Duration = Duration::from_secs(15);
/// Retry pauses while the daemon cannot be reached.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Retry pauses while the daemon does not yet accept this hook as its session (the
/// SessionStart hook beside it is still registering and storing the credential).
const NOT_YET_MIN: Duration = Duration::from_millis(100);
const NOT_YET_MAX: Duration = Duration::from_secs(2);

/// `MCP_COORD_WAKE`: `off` never waits; `always` waits outside interactive sessions too.
pub const WAKE_ENV: &str = "MCP_COORD_WAKE";
/// `MCP_COORD_WAKE_TRACE=FILE`: append one line per step of every waiting hook (armed, each
/// poll's answer, claims, why it exited) — for finding out why an agent was not woken, since
/// Claude Code shows nothing of a background hook that exits 0.
pub const WAKE_TRACE_ENV: &str = "MCP_COORD_WAKE_TRACE";

/// One line to the trace file, when `MCP_COORD_WAKE_TRACE` names one. Best effort.
fn trace(waiter: &str, what: std::fmt::Arguments) {
    use std::io::Write;
    let Some(path) = std::env::var_os(WAKE_TRACE_ENV).filter(|p| !p.is_empty()) else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{} waiter={waiter} {what}", now_ms());
    }
}

/// Should this hook wait at all? Interactive Claude Code sets `CLAUDE_CODE_ENTRYPOINT=cli`;
/// `claude -p` (`sdk-cli`) runs asyncRewake hooks synchronously.
pub fn should_wait(entrypoint: Option<&str>, wake_env: Option<&str>) -> bool {
    match wake_env.map(str::trim) {
        Some("off") | Some("0") | Some("false") => false,
        Some("always") => true,
        _ => entrypoint == Some("cli"),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What one poll came back with.
enum Poll {
    Ready(Vec<String>),
    Again,
    /// Stop waiting, because…
    Quit(String),
    /// Try again after a pause, because…
    Unreachable(String),
    /// Not accepted as the session yet: try again soon, because…
    NotYet(String),
}

/// Waits (up to `max_wait`) and wakes the agent; returns the exit status.
pub async fn run(base: &str, mut event: Map<String, Value>, max_wait: Duration) -> u8 {
    if !should_wait(
        std::env::var("CLAUDE_CODE_ENTRYPOINT").ok().as_deref(),
        std::env::var(WAKE_ENV).ok().as_deref(),
    ) {
        return EXIT_OK;
    }
    let mut facts = super::hook::facts(None, false);
    let claude_id = super::hook::event_field(&event, "session_id");
    facts.credential =
        super::credentials::for_hook(base, &claude_id).map(crate::service::hooks::Secret);
    event.insert(
        "coord".into(),
        serde_json::to_value(facts).unwrap_or_default(),
    );
    let waiter = uuid::Uuid::new_v4().simple().to_string();
    let armed_at_ms = now_ms();
    let hook_event = super::hook::event_field(&event, "hook_event_name");
    trace(
        &waiter,
        format_args!("armed by {hook_event} for claude session {claude_id}"),
    );
    let deadline = tokio::time::Instant::now() + max_wait;
    let Ok(client) = crate::cli::http_client::builder()
        .connect_timeout(Duration::from_secs(3))
        .build()
    else {
        return EXIT_OK;
    };
    let claude_gone = claude_exit();
    tokio::pin!(claude_gone);
    let mut backoff = BACKOFF_MIN;
    let mut not_yet = NOT_YET_MIN;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return EXIT_OK;
        }
        let secs = left.as_secs().clamp(1, POLL_SECONDS);
        refresh_credential(&mut event, base, &claude_id);
        let mut body = event.clone();
        let wait = WakeArgs {
            wait_seconds: secs,
            waiter: waiter.clone(),
            armed_at_ms,
        };
        body.insert(
            "wait".into(),
            serde_json::to_value(wait).unwrap_or_default(),
        );
        let poll = tokio::select! {
            p = poll(&client, base, &body, Duration::from_secs(secs) + POLL_SLACK) => p,
            _ = &mut claude_gone => {
                trace(&waiter, format_args!("exit 0: Claude Code exited"));
                return EXIT_OK;
            }
        };
        match poll {
            Poll::Ready(ids) => {
                backoff = BACKOFF_MIN;
                refresh_credential(&mut event, base, &claude_id);
                if let Some(text) = claim(&client, base, &event, &ids).await {
                    trace(&waiter, format_args!("exit 2: woke with {ids:?}"));
                    eprintln!("{text}");
                    return EXIT_WAKE;
                }
                // Another path delivered them first (or the daemon went away): wait again.
                trace(
                    &waiter,
                    format_args!("ready {ids:?} but nothing left to claim"),
                );
            }
            Poll::Again => backoff = BACKOFF_MIN,
            Poll::Quit(why) => {
                trace(&waiter, format_args!("exit 0: {why}"));
                return EXIT_OK;
            }
            Poll::Unreachable(why) => {
                trace(&waiter, format_args!("retrying: {why}"));
                if !pause_unless_gone(backoff.min(left), &mut claude_gone).await {
                    return EXIT_OK;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Poll::NotYet(why) => {
                trace(&waiter, format_args!("not accepted yet: {why}"));
                if !pause_unless_gone(not_yet.min(left), &mut claude_gone).await {
                    return EXIT_OK;
                }
                not_yet = (not_yet * 2).min(NOT_YET_MAX);
            }
        }
    }
}

/// Sleeps `pause`; false when Claude Code exited meanwhile.
async fn pause_unless_gone(
    pause: Duration,
    claude_gone: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => true,
        _ = claude_gone.as_mut() => false,
    }
}

/// The credential file may be newer than this process (the SessionStart hook runs beside it
/// and stores what the daemon issued): read it again before each request.
fn refresh_credential(event: &mut Map<String, Value>, base: &str, claude_id: &str) {
    if let Some(c) = super::credentials::for_hook(base, claude_id)
        && let Some(coord) = event.get_mut("coord").and_then(Value::as_object_mut)
    {
        coord.insert("credential".into(), Value::String(c));
    }
}

async fn poll(
    client: &reqwest::Client,
    base: &str,
    body: &Map<String, Value>,
    budget: Duration,
) -> Poll {
    let response =
        match super::client::with_bearer(client.post(format!("{base}/hooks/claude/wait")))
            .timeout(budget)
            .json(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Poll::Unreachable(format!("no answer: {e}")),
        };
    let status = response.status();
    if status == reqwest::StatusCode::FORBIDDEN {
        // Not proven as the session (yet): the SessionStart hook may still be storing its
        // credential. Try again later, like an unreachable daemon.
        return Poll::NotYet(format!("{status}: {}", answer_text(response).await));
    }
    if status.is_client_error() {
        // The daemon refuses this event for good (bad session name…): nothing to wait for.
        return Poll::Quit(format!("{status}: {}", answer_text(response).await));
    }
    if !status.is_success() {
        return Poll::Unreachable(format!("{status}: {}", answer_text(response).await));
    }
    match response.json::<WakeOutcome>().await {
        Ok(WakeOutcome::Ready { ids, .. }) => Poll::Ready(ids),
        Ok(WakeOutcome::Timeout { .. }) => Poll::Again,
        Ok(WakeOutcome::Superseded { session }) => {
            Poll::Quit(format!("a newer waiter took over session {session}"))
        }
        Ok(WakeOutcome::Off) => Poll::Quit("messages.wake_kinds is empty".into()),
        Err(e) => Poll::Unreachable(format!("unreadable answer: {e}")),
    }
}

/// The body of a refusal, shortened (it goes to the trace only).
async fn answer_text(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    text.chars().take(300).collect()
}

/// Claims `ids`; the text for the model, or `None` when nothing was left to claim.
async fn claim(
    client: &reqwest::Client,
    base: &str,
    event: &Map<String, Value>,
    ids: &[String],
) -> Option<String> {
    let mut body = event.clone();
    let claim = ClaimArgs { ids: ids.to_vec() };
    body.insert(
        "claim".into(),
        serde_json::to_value(claim).unwrap_or_default(),
    );
    let response = super::client::with_bearer(client.post(format!("{base}/hooks/claude/claim")))
        .timeout(Duration::from_secs(10))
        .json(&body)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let claimed: Claimed = response.json().await.ok()?;
    Some(claimed.text).filter(|t| !t.is_empty())
}

/// Resolves when the Claude Code process (`CLAUDE_PID`) has exited; never, when unknown.
/// A pidfd makes it an event, not a poll; without one it checks every 30 s.
async fn claude_exit() {
    let Some(pid) = std::env::var("CLAUDE_PID")
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .filter(|p| *p > 1)
    else {
        return std::future::pending().await;
    };
    // SAFETY: the AsyncFd owns the OwnedFd, which stays open (the same descriptor) for as
    // long as the AsyncFd lives.
    if let Some(fd) = pidfd(pid)
        && let Ok(readable) = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }
    {
        let _ = readable.readable().await;
        return;
    }
    loop {
        // SAFETY: kill with signal 0 only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } != 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// A pidfd for `pid` (readable once it exits), where the kernel has them.
fn pidfd(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just created and is owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_only_in_interactive_sessions_unless_told() {
        assert!(should_wait(Some("cli"), None));
        assert!(!should_wait(Some("sdk-cli"), None), "claude -p would hang");
        assert!(!should_wait(None, None));
        assert!(!should_wait(Some("cli"), Some("off")));
        assert!(should_wait(Some("sdk-cli"), Some("always")));
    }
}
