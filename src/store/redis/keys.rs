//! The Redis key layout, in one place, so `redis-cli` users and the README agree with code.
//!
//! With the default prefix `claude:` (the seed's):
//!
//! | key | type | what |
//! |---|---|---|
//! | `claude:locks:{kind}:{name}` | string (JSON) | a held lock; `GET` shows holder, token, reason; TTL = lock TTL |
//! | `claude:locks:index` | zset | held lock names → expiry ms (what `list_locks` reads; never `KEYS`) |
//! | `claude:locks:names` | zset (all scores 0) | held lock names, ordered, for finding descendants by `ZRANGEBYLEX` |
//! | `claude:locks:fence:{kind}:{name}` | string (integer) | fencing-token counter of one lock; `INCR`, never expires |
//! | `claude:locks:held:{session}` | set | lock names a session holds (`release_all_held_by`); may list expired ones |
//! | `claude:locks:queue:{kind}:{name}` | list | waiter ids, FIFO |
//! | `claude:locks:waiter:{id}` | string (JSON) | a waiter's session, lock and daemon (instance id); short TTL refreshed while it waits |
//! | `claude:locks:delay:{kind}:{name}` | string (JSON) | lock-delay after a takeover: who may take it, until when; TTL = the delay |
//! | `claude:locks:notes:{session}` | hash | lock name → takeover note for a holder whose lock was taken over (TTL 7 days) |
//! | `claude:events:locks` | pub/sub channel | a lock name each time one is released (wakes waiters) |
//! | `claude:sessions:{name}` | string (JSON) | a session record |
//! | `claude:sessions:last_seen` | zset | live session names → last activity ms (tiers, reaper) |
//! | `claude:heartbeat:{name}` | string | last activity ms, TTL = the active threshold (seed compatibility) |
//! | `claude:sessions:ended` | zset | ended session names → ended at ms (listing with `include_ended`, purge) |
//! | `claude:sessions:children:{parent}` | set | names of the parent's children (live or ended until purged) |
//! | `claude:sessions:history:{name}` | list | status reports, newest first, capped at `sessions.status_history` |
//! | `claude:bindings:claude:{claude_id}` | string | the session Claude Code session `claude_id` is bound to (hooks, `bind_session`); TTL = `sessions.stale_seconds`, renewed by its hooks |
//! | `claude:claims` | hash | session name → SHA-256 (hex) of its current session credential (issue 16); never the credential itself |
//! | `claude:reaper:lock` | string | token of the daemon whose reaper runs now (`SET NX PX`) |
//! | `claude:reaper:last_run` | string | ms of the last reaper run (tier changes are those crossed since) |
//! | `claude:inbox:{session}` | stream | the session's inbox: field `m` = message JSON, `ttl` = per-message TTL ms; trimmed to `messages.inbox_cap`; TTL `messages.inbox_ttl_seconds` refreshed by each send |
//! | `claude:inbox:cursor:{session}` | string | stream id of the last message handed to the session (read cursor); same TTL as the inbox |
//! | `claude:events:inbox` | pub/sub channel | a recipient name each time a message is sent (wakes its long-polls) |
//! | `claude:tasks:{project}:spec` | hash | task id → the task as planned (JSON: TaskMaster's fields, as written) |
//! | `claude:tasks:{project}:state` | hash | task id → its state (JSON: status, assignee, progress, notes, dependents, subtask statuses) |
//! | `claude:tasks:{project}:ready` | zset | pending tasks whose dependencies are all done → claim order (priority rank × 10⁹ + creation seq) |
//! | `claude:task_holds:{session}` | set | `project:id` of the tasks the session works on (in-progress / blocked), for the reaper |
//! | `claude:tasks:projects` | set | projects that have tasks |
//! | `claude:daemons` | zset | daemon instance id → end of its lease ms (renewed every 2 s, 10 s long); a waiter whose daemon is not here is skipped (`daemons.rs`) |
//! | `claude:daemons:host:{hostname}` | hash | instance id → `{pid, started, pidns}` of the daemons on that host, so a restarted daemon sees at once that an older one's process is gone |
//! | `claude:events` | pub/sub channel | every daemon event as JSON `{origin, event}` (cross-daemon resources, `/events`) |
//! | `claude:audit` | stream | the audit log: field `e` = entry JSON; trimmed to `audit.max_entries` and `audit.max_age_seconds` at each append (`XREVRANGE claude:audit + - COUNT 20`) |
//!
//! Session names cannot contain `:`, so `sessions:{name}` never collides with the
//! `sessions:children:` / `sessions:history:` keys; the two fixed names `last_seen` and
//! `ended` are refused as session names ([`crate::domain::session_name::RESERVED`]).
//!
//! Each capability adds its keys here, next to these.

/// Builds keys under a configurable prefix. A prefix like `{claude}:` puts every key in one
/// Redis Cluster slot, so multi-key scripts stay legal there.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `claude:locks:resource:pytest` for the canonical lock name `resource:pytest`.
    pub fn lock(&self, canonical_name: &str) -> String {
        format!("{}locks:{}", self.prefix, canonical_name)
    }

    pub fn lock_index(&self) -> String {
        format!("{}locks:index", self.prefix)
    }

    /// Lex-ordered held names (hierarchy lookups).
    pub fn lock_names(&self) -> String {
        format!("{}locks:names", self.prefix)
    }

    pub fn lock_fence(&self, canonical_name: &str) -> String {
        format!("{}locks:fence:{}", self.prefix, canonical_name)
    }

    /// The lock scripts also build this one from the prefix (for other sessions' sets).
    pub fn locks_held(&self, session: &str) -> String {
        format!("{}locks:held:{}", self.prefix, session)
    }

    pub fn lock_queue(&self, canonical_name: &str) -> String {
        format!("{}locks:queue:{}", self.prefix, canonical_name)
    }

    /// The lock scripts also build this one from the prefix (for other waiters' keys).
    pub fn lock_waiter(&self, waiter_id: &str) -> String {
        format!("{}locks:waiter:{}", self.prefix, waiter_id)
    }

    pub fn lock_delay(&self, canonical_name: &str) -> String {
        format!("{}locks:delay:{}", self.prefix, canonical_name)
    }

    /// The lock scripts also build this one from the prefix (for the holder taken from).
    pub fn lock_notes(&self, session: &str) -> String {
        format!("{}locks:notes:{}", self.prefix, session)
    }

    /// Pub/sub channel carrying released lock names.
    pub fn lock_events(&self) -> String {
        format!("{}events:locks", self.prefix)
    }

    pub fn session(&self, name: &str) -> String {
        format!("{}sessions:{}", self.prefix, name)
    }

    pub fn sessions_last_seen(&self) -> String {
        format!("{}sessions:last_seen", self.prefix)
    }

    pub fn heartbeat(&self, name: &str) -> String {
        format!("{}heartbeat:{}", self.prefix, name)
    }

    pub fn sessions_ended(&self) -> String {
        format!("{}sessions:ended", self.prefix)
    }

    pub fn session_children(&self, parent: &str) -> String {
        format!("{}sessions:children:{}", self.prefix, parent)
    }

    pub fn session_history(&self, name: &str) -> String {
        format!("{}sessions:history:{}", self.prefix, name)
    }

    pub fn inbox(&self, session: &str) -> String {
        format!("{}inbox:{}", self.prefix, session)
    }

    /// Session names cannot contain `:`, so this never collides with an inbox.
    pub fn inbox_cursor(&self, session: &str) -> String {
        format!("{}inbox:cursor:{}", self.prefix, session)
    }

    /// Pub/sub channel carrying recipient names of sent messages.
    pub fn inbox_events(&self) -> String {
        format!("{}events:inbox", self.prefix)
    }

    /// The audit log stream.
    pub fn audit(&self) -> String {
        format!("{}audit", self.prefix)
    }

    /// Pub/sub channel carrying every daemon event (JSON), for the other daemons.
    pub fn events(&self) -> String {
        format!("{}events", self.prefix)
    }

    /// Claude ids pass the session-name charset (no `:`), so this never collides.
    pub fn claude_binding(&self, claude_id: &str) -> String {
        format!("{}bindings:claude:{}", self.prefix, claude_id)
    }

    /// Session name → hash of its credential (one hash for all sessions).
    pub fn claims(&self) -> String {
        format!("{}claims", self.prefix)
    }

    /// Project names cannot contain `:`, so the three per-project keys never collide with
    /// each other or with `tasks:projects`.
    pub fn tasks_spec(&self, project: &str) -> String {
        format!("{}tasks:{}:spec", self.prefix, project)
    }

    pub fn tasks_state(&self, project: &str) -> String {
        format!("{}tasks:{}:state", self.prefix, project)
    }

    pub fn tasks_ready(&self, project: &str) -> String {
        format!("{}tasks:{}:ready", self.prefix, project)
    }

    /// The task scripts also build this one from the prefix (for another assignee's set).
    pub fn tasks_held(&self, session: &str) -> String {
        format!("{}task_holds:{}", self.prefix, session)
    }

    pub fn task_projects(&self) -> String {
        format!("{}tasks:projects", self.prefix)
    }

    pub fn reaper_lock(&self) -> String {
        format!("{}reaper:lock", self.prefix)
    }

    /// The data-loss guard's marker hash (`id`, `created_at_ms`, `hold_until`, …): see
    /// `guard.rs`. Deleting it (or all keys) makes running daemons hold grants back.
    pub fn store_epoch(&self) -> String {
        format!("{}store:epoch", self.prefix)
    }

    /// The daemon registry's leases (instance id → lease end ms): see `daemons.rs`.
    pub fn daemons(&self) -> String {
        format!("{}daemons", self.prefix)
    }

    /// The daemons of one host with their pids (`daemons.rs`).
    pub fn daemons_host(&self, hostname: &str) -> String {
        format!("{}daemons:host:{}", self.prefix, hostname)
    }

    pub fn reaper_last_run(&self) -> String {
        format!("{}reaper:last_run", self.prefix)
    }
}
