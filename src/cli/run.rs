//! `run --lock NAME [--wait S] [--ttl S] -- CMD ARGS…`: flock(1) for the coordination daemon.
//!
//! Acquire, spawn the command (an argv, no shell), extend the lock every ttl/3 while it runs,
//! release when it exits, and exit with its status (128+N when signal N killed it).
//! SIGTERM/SIGINT/SIGHUP/SIGQUIT are forwarded to the command; we wait for it, release, and
//! exit with its status. SIGINT is not forwarded when it came from the terminal (we are in
//! the terminal's foreground process group, so the command got it too — a second SIGINT
//! would cut short e.g. pytest's summary). If this process is SIGKILLed nothing can
//! release: the lock expires by its TTL, and on Linux the command gets SIGTERM (parent-death
//! signal) so it never runs on without the lock.
//!
//! The lock belongs to this invocation: it acts as session `<session>.run-<pid>` (see
//! [`super::identity`]), which it ends when done.

use std::process::ExitStatus;
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use super::client::{Keep, int_arg};
use super::lock::{acquire_args, lock_named, warnings};
use super::{CliError, Daemon, EXIT_FAILED, Global, identity};
use crate::service::locks::ExtendLockArgs;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The lock to hold while the command runs (`pytest`, `pr-create`, `issue:42`, …).
    #[arg(long, value_name = "NAME")]
    pub lock: String,
    /// Wait up to S seconds for the lock (default: fail at once if held).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub wait: u64,
    /// Lock TTL in seconds; renewed every ttl/3 while the command runs, so after a crash of
    /// this process the lock frees within S seconds.
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub ttl: u64,
    /// Why (shown to others who find the lock held); default: the command line.
    #[arg(long)]
    pub reason: Option<String>,
    /// No notes on stderr (acquired, released).
    #[arg(long, short)]
    pub quiet: bool,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Exit status when the command cannot be started (as shells use: 127 not found, 126 not
/// executable).
const EXIT_NOT_FOUND: u8 = 127;
const EXIT_NOT_EXECUTABLE: u8 = 126;

pub async fn main(global: &Global, a: RunArgs) -> Result<u8, CliError> {
    if a.ttl == 0 {
        return Err(CliError::Usage("--ttl must be at least 1 second".into()));
    }
    let session = identity::run_name(&global.session_name()?, std::process::id());
    let base = global.base_url();
    let daemon = Daemon::connect_keeping(&base, &session, Keep::InMemory).await?;
    let reason = a
        .reason
        .clone()
        .unwrap_or_else(|| format!("mcp-coord run: {}", a.command.join(" ")));
    let granted = match daemon
        .call(
            "acquire_lock",
            &acquire_args(&a.lock, Some(a.ttl), a.wait, Some(&reason), false),
        )
        .await
    {
        Ok(g) => g,
        Err(e) => {
            let _ = daemon.call_plain("end_session").await;
            daemon.close().await;
            return Err(e);
        }
    };
    warnings(&granted);
    let lock = granted
        .get("lock")
        .and_then(|v| v.as_str())
        .unwrap_or(&a.lock)
        .to_string();
    if !a.quiet {
        eprintln!(
            "mcp-coord: holding {lock} (token {}) as {session}",
            granted
                .get("token")
                .map(|t| t.to_string())
                .unwrap_or_default()
        );
    }

    let (code, daemon) = match spawn(&a.command) {
        Ok(child) => {
            // The keeper owns the connection while the command runs and hands it back when
            // told to stop (it may have replaced it with a fresh one).
            let stop = CancellationToken::new();
            let keeper = tokio::spawn(keep_extending(
                daemon,
                a.lock.clone(),
                a.ttl,
                a.quiet,
                stop.clone(),
            ));
            let status = supervise(child).await;
            stop.cancel();
            let daemon = keeper
                .await
                .map_err(|e| CliError::Failed(format!("the lock keeper of {lock} failed: {e}")))?;
            (exit_code(status), daemon)
        }
        Err((code, message)) => {
            eprintln!("mcp-coord: {message}");
            (code, daemon)
        }
    };

    let released = tokio::time::timeout(
        Duration::from_secs(5),
        daemon.call("release_lock", &lock_named(&a.lock)),
    )
    .await;
    match released {
        Ok(Ok(_)) if !a.quiet => eprintln!("mcp-coord: released {lock}"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            eprintln!("mcp-coord: could not release {lock} (it expires by its TTL): {e:?}")
        }
        Err(_) => eprintln!("mcp-coord: releasing {lock} timed out (it expires by its TTL)"),
    }
    // This invocation's session is done; end it so it does not linger in `status`.
    let _ = tokio::time::timeout(Duration::from_secs(2), daemon.call_plain("end_session")).await;
    Ok(code)
}

fn spawn(command: &[String]) -> Result<tokio::process::Child, (u8, String)> {
    let (program, args) = command
        .split_first()
        .ok_or((EXIT_FAILED, "no command given after --".to_string()))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => (EXIT_NOT_FOUND, format!("{program}: command not found")),
        std::io::ErrorKind::PermissionDenied => {
            (EXIT_NOT_EXECUTABLE, format!("{program}: permission denied"))
        }
        _ => (EXIT_FAILED, format!("cannot start {program}: {e}")),
    })
}

/// Waits for the child, forwarding termination signals to it.
async fn supervise(mut child: tokio::process::Child) -> std::io::Result<ExitStatus> {
    let pid = child.id().map(|p| p as libc::pid_t);
    let mut streams = Vec::new();
    for kind in [
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::hangup(),
        SignalKind::quit(),
    ] {
        if let Ok(s) = signal(kind) {
            streams.push((kind.as_raw_value(), s));
        }
    }
    loop {
        let next_signal = futures::future::select_all(
            streams
                .iter_mut()
                .map(|(n, s)| Box::pin(async move { s.recv().await.map(|_| *n) })),
        );
        tokio::select! {
            status = child.wait() => return status,
            (got, _, _) = next_signal => {
                if let (Some(sig), Some(pid)) = (got, pid)
                    && !(sig == libc::SIGINT && terminal_sent_it())
                {
                    // SAFETY: kill(2) with a pid we spawned and still wait for.
                    unsafe { libc::kill(pid, sig) };
                }
            }
        }
    }
}

/// True when we run in the terminal's foreground process group: then a SIGINT came from
/// Ctrl-C and reached the whole group, the command included.
fn terminal_sent_it() -> bool {
    // SAFETY: both calls only read process state.
    unsafe {
        let fg = libc::tcgetpgrp(libc::STDIN_FILENO);
        fg != -1 && fg == libc::getpgrp()
    }
}

/// Renews the lock every ttl/3 until `stop`, then hands the connection back. A dropped
/// connection is reopened (the lock belongs to the session name, not the connection); a
/// refusal means the lock was lost and is said once.
async fn keep_extending(
    mut daemon: Daemon,
    lock: String,
    ttl: u64,
    quiet: bool,
    stop: CancellationToken,
) -> Daemon {
    let every = Duration::from_millis((ttl * 1000 / 3).max(200));
    let mut lost = false;
    loop {
        let stopped = tokio::select! {
            _ = stop.cancelled() => true,
            _ = async {
                tokio::time::sleep(every).await;
                extend_once(&mut daemon, &lock, ttl, every, quiet, &mut lost).await;
            } => false,
        };
        if stopped {
            return daemon;
        }
    }
}

/// One renewal; `lost` remembers that the loss was already reported.
async fn extend_once(
    daemon: &mut Daemon,
    lock: &str,
    ttl: u64,
    every: Duration,
    quiet: bool,
    lost: &mut bool,
) {
    let args = ExtendLockArgs {
        lock_name: lock.to_string(),
        timeout_seconds: Some(int_arg(ttl)),
        branch: None,
    };
    let result = match tokio::time::timeout(every, daemon.call("extend_lock", &args)).await {
        Ok(r) => r,
        Err(_) => Err(CliError::Failed("extend_lock timed out".into())),
    };
    match result {
        Ok(_) => *lost = false,
        Err(CliError::Refused { message, .. }) => {
            if !*lost {
                eprintln!(
                    "mcp-coord: warning: lock {lock} lost ({message}); the command keeps running"
                );
                *lost = true;
            }
        }
        Err(e) => {
            if !quiet {
                eprintln!("mcp-coord: warning: could not extend {lock}: {e:?}; reconnecting");
            }
            if let Ok(fresh) = daemon.reconnect().await
                && fresh.call("extend_lock", &args).await.is_ok()
            {
                *daemon = fresh;
            }
        }
    }
}

/// The command's exit code, or 128+N when signal N killed it.
fn exit_code(status: std::io::Result<ExitStatus>) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => c as u8,
            (None, Some(sig)) => (128 + sig) as u8,
            _ => EXIT_FAILED,
        },
        Err(e) => {
            eprintln!("mcp-coord: waiting for the command failed: {e}");
            EXIT_FAILED
        }
    }
}
