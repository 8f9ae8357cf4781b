//! The daemon registry: which daemons on this Redis are alive, so that the queue entries a
//! dead daemon left behind are skipped at once instead of blocking a lock's FIFO until they
//! expire (issue 12: after a crash nobody got a lock for ~3.4 s).
//!
//! A waiter is a request a daemon is serving; when that daemon dies, nobody renews its
//! entry. Each store (one per daemon start) has a random instance id, its waiters' entries
//! (`locks:waiter:{id}`) name it, and `acquire.lua` skips a queue head whose daemon holds no
//! live lease in `{prefix}daemons` (a zset: instance id → lease end, Redis clock). The lease
//! ([`LEASE`]) is renewed every [`BEAT_EVERY`] by a background task and given up at
//! shutdown.
//!
//! A lease alone would keep a crashed daemon "alive" for up to [`LEASE`] — longer than its
//! waiters' own 3 s TTL. What makes a crash visible at once: each daemon also lists itself
//! with its pid in `{prefix}daemons:host:{hostname}`, and at each beat (the first one before
//! it serves) it looks at the others listed for its host: one whose process is gone
//! (`kill(pid, 0)` fails with ESRCH, or the pid now belongs to a process started at another
//! time) is dropped from the registry there and then. So a daemon restarted after a crash
//! (by systemd, a supervisor, a user) frees what its previous incarnation left with its
//! first beat, and a sibling daemon on the same host notices a crash within one beat.
//! Daemons in another pid namespace (another container with the same hostname) are never
//! judged by pid; a crashed daemon on another host is recognised when its lease ends.
//!
//! The registry only decides whom to skip in a queue, never who holds a lock: a live daemon
//! whose lease lapsed (Redis unreachable for longer than [`LEASE`]) only makes its waiters
//! lose their place; each rejoins the queue at its next attempt.

use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use redis::Script;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::RedisStore;
use super::keys::Keys;
use crate::store::StoreError;

/// How long a daemon counts as alive after its last beat.
pub const LEASE: Duration = Duration::from_secs(10);

/// How often a daemon renews its lease (and looks for dead daemons on its host).
pub const BEAT_EVERY: Duration = Duration::from_secs(2);

static BEAT: LazyLock<Script> = script!("daemon_beat.lua");

/// This daemon's entry in the registry.
pub struct Registration {
    /// The instance id its waiters carry (random, per start).
    pub id: String,
    host: String,
    me: Member,
    keys: Keys,
    /// Cancelled at shutdown: the beat task stops.
    stop: CancellationToken,
}

/// What the host hash says of one daemon (JSON): enough to tell whether it still runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Member {
    pid: u32,
    /// When the process started (clock ticks since boot, `/proc/<pid>/stat`): a pid that is
    /// alive but started at another time was reused by another process.
    #[serde(default)]
    started: Option<u64>,
    /// `/proc/self/ns/pid`: only daemons in our pid namespace are judged by pid.
    #[serde(default)]
    pidns: String,
}

impl Registration {
    pub fn new(keys: &Keys) -> Self {
        let pid = std::process::id();
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            host: hostname(),
            me: Member {
                pid,
                started: process_started(pid),
                pidns: std::fs::read_link("/proc/self/ns/pid")
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            },
            keys: keys.clone(),
            stop: CancellationToken::new(),
        }
    }

    fn host_key(&self) -> String {
        self.keys.daemons_host(&self.host)
    }

    /// Is the daemon `m` of our host gone? Only judged for our own pid namespace.
    fn is_dead(&self, m: &Member) -> bool {
        if m.pidns != self.me.pidns {
            return false;
        }
        if !pid_exists(m.pid) {
            return true;
        }
        // Alive, but maybe a new process with a reused pid (a container's pid 1 restarted).
        match (m.started, process_started(m.pid)) {
            (Some(then), Some(now)) => then != now,
            _ => false,
        }
    }

    /// Renews the lease, drops `dead`, and answers the other daemons of this host that are
    /// dead now (to drop at once with another beat).
    async fn beat(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        dead: &[String],
    ) -> redis::RedisResult<Vec<String>> {
        let mut inv = BEAT.prepare_invoke();
        inv.key(self.keys.daemons())
            .key(self.host_key())
            .arg(&self.id)
            .arg(serde_json::to_string(&self.me).unwrap_or_default())
            .arg(LEASE.as_millis() as u64);
        for id in dead {
            inv.arg(id);
        }
        let listed: std::collections::HashMap<String, String> = inv.invoke_async(conn).await?;
        Ok(listed
            .into_iter()
            .filter(|(id, _)| *id != self.id)
            .filter(|(_, m)| serde_json::from_str::<Member>(m).is_ok_and(|m| self.is_dead(&m)))
            .map(|(id, _)| id)
            .collect())
    }
}

impl RedisStore {
    /// Starts the beat task and waits (at most the store timeout) for its first beat, so
    /// the queues a crashed predecessor left are free before this daemon serves. The task
    /// uses a connection of its own and stops when the store is shut down or dropped.
    pub(super) async fn spawn_daemon_beat(&self) {
        let reg: Weak<Registration> = Arc::downgrade(&self.daemon);
        let stop = self.daemon.stop.clone();
        let client = self.client();
        let timeout = self.timeout;
        let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let Ok(client) = client else { return };
            let mut first = Some(first_tx);
            let mut conn: Option<redis::aio::MultiplexedConnection> = None;
            let mut dead: Vec<String> = Vec::new();
            loop {
                let Some(reg) = reg.upgrade() else { return };
                let result = tokio::time::timeout(timeout, async {
                    let c = match conn.as_mut() {
                        Some(c) => c,
                        None => conn.insert(client.get_multiplexed_async_connection().await?),
                    };
                    let found = reg.beat(c, &dead).await?;
                    if found.is_empty() {
                        return Ok(found);
                    }
                    // Drop them now rather than at the next beat.
                    tracing::info!(
                        "daemon registry: {} daemon(s) of this host are gone ({}); their \
                         waiters are skipped",
                        found.len(),
                        found.join(", ")
                    );
                    reg.beat(c, &found).await
                })
                .await;
                match result {
                    Ok(Ok(found)) => dead = found,
                    Ok(Err(e)) => {
                        tracing::debug!("daemon registry: cannot renew the lease ({e})");
                        conn = None;
                    }
                    Err(_) => {
                        tracing::debug!("daemon registry: no answer renewing the lease");
                        conn = None;
                    }
                }
                drop(reg);
                if let Some(tx) = first.take() {
                    let _ = tx.send(());
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(BEAT_EVERY) => {}
                }
            }
        });
        let _ = tokio::time::timeout(self.timeout, first_rx).await;
    }

    /// This daemon's instance id (its waiters carry it).
    pub(super) fn daemon_id(&self) -> &str {
        &self.daemon.id
    }

    /// At shutdown: stop renewing and leave the registry, so this daemon's waiters (if any
    /// are left) are skipped at once.
    pub(super) async fn leave_registry(&self) -> Result<(), StoreError> {
        self.daemon.stop.cancel();
        let daemons = self.keys().daemons();
        let host = self.daemon.host_key();
        let id = self.daemon.id.clone();
        self.run(|mut c| async move {
            redis::pipe()
                .atomic()
                .zrem(&daemons, &id)
                .hdel(&host, &id)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }
}

/// The host's name as the kernel has it (`hostname`), `localhost` if unknown.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

/// Does a process with this pid exist (in our pid namespace)? EPERM means it does.
fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), if readable.
fn process_started(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_dead() {
        let reg = Registration::new(&Keys::new("t:"));
        assert!(!reg.is_dead(&reg.me), "ourselves");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let started = process_started(pid);
        child.wait().unwrap();
        let gone = Member {
            pid,
            started,
            pidns: reg.me.pidns.clone(),
        };
        assert!(reg.is_dead(&gone), "a reaped child");
        let reused = Member {
            started: reg.me.started.map(|s| s + 1),
            ..reg.me.clone()
        };
        assert!(reg.is_dead(&reused), "our pid, another start time");
        let elsewhere = Member {
            pidns: "pid:[1]".into(),
            ..gone
        };
        assert!(
            !reg.is_dead(&elsewhere),
            "another pid namespace is not judged"
        );
    }
}
