//! Differential test: one seeded random sequence of store operations — locks with their
//! hierarchy, waiting (the FIFO queue), takeovers and lock-delays, sessions with the tree
//! limits, messages and replies — runs against Redis and the embedded store side by side,
//! and every outcome is compared step by step.
//!
//! The two stores run on their own clocks, so what is compared is everything but the
//! clock: times are dropped, fencing tokens and message ids are compared by the order in
//! which they first appeared (and each lock's tokens must rise). Tiers are made exact by
//! the thresholds each step passes (everyone active, idle, stale or abandoned), TTLs are an
//! hour, so no outcome depends on how fast a step ran.
//!
//! A failure prints its seed; `DIFF_SEED=<seed> cargo test --test it differential`
//! reproduces it. Without `DIFF_SEED` each run tries fresh seeds (`DIFF_SEEDS`, default 3).

use std::collections::HashMap;
use std::sync::Arc;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use mcp_coord::domain::lock_name::LockName;
use mcp_coord::domain::message::{Message, MessageKind};
use mcp_coord::domain::session::{Role, SessionRecord};
use mcp_coord::domain::tiers::TierThresholds;
use mcp_coord::store::Store;
use mcp_coord::store::locks::{
    AcquireOutcome, AcquireRequest, ExtendOutcome, ExtendRequest, ForceRelease, ReleaseOutcome,
    Waiter,
};
use mcp_coord::store::messages::{InboxPolicy, ReadQuery, SendOutcome, WantedReply};
use mcp_coord::store::sessions::{EndOutcome, PutOutcome, PutSession, SessionPolicy};

use crate::conformance::{embedded_store, redis_store};
use crate::support::redis::RedisServer;

const STEPS: usize = 400;
const SESSIONS: [&str; 5] = ["s0", "s1", "s2", "s3", "s4"];
/// A small hierarchy: `wave:5c` encloses `wave:5c.1` and `wave:5c.2`, `path:src` encloses
/// `path:src/a.rs`; `pytest` and `issue:1` stand alone.
const LOCKS: [&str; 7] = [
    "pytest",
    "issue:1",
    "wave:5c",
    "wave:5c.1",
    "wave:5c.2",
    "path:src",
    "path:src/a.rs",
];
const HOUR_MS: i64 = 3_600_000;

/// Thresholds that put every live session in one tier, whatever its age.
const REGIMES: [(&str, TierThresholds); 4] = [
    (
        "all-active",
        TierThresholds {
            active_ms: HOUR_MS,
            idle_ms: 2 * HOUR_MS,
            stale_ms: 3 * HOUR_MS,
        },
    ),
    (
        "all-idle",
        TierThresholds {
            active_ms: 0,
            idle_ms: HOUR_MS,
            stale_ms: 2 * HOUR_MS,
        },
    ),
    (
        "all-stale",
        TierThresholds {
            active_ms: 0,
            idle_ms: 0,
            stale_ms: HOUR_MS,
        },
    ),
    (
        "all-abandoned",
        TierThresholds {
            active_ms: 0,
            idle_ms: 0,
            stale_ms: 0,
        },
    ),
];

/// One step, with every choice already made (so both stores get the same).
#[derive(Debug, Clone)]
enum Op {
    Acquire {
        session: usize,
        lock: usize,
        force: bool,
        wait: bool,
        regime: usize,
        lock_delay: bool,
    },
    Release {
        session: usize,
        lock: usize,
        regime: usize,
    },
    Extend {
        session: usize,
        lock: usize,
        regime: usize,
    },
    Check {
        session: usize,
        lock: usize,
        regime: usize,
    },
    List {
        regime: usize,
    },
    LeaveQueue {
        session: usize,
        lock: usize,
    },
    ReleaseAll {
        session: usize,
        lock_delay: bool,
    },
    ForceRelease {
        lock: usize,
        regime: usize,
        lock_delay: bool,
    },
    Touch {
        session: usize,
    },
    Register {
        session: usize,
        connection: usize,
        parent: Option<usize>,
        claim: bool,
    },
    End {
        session: usize,
    },
    Get {
        session: usize,
    },
    Send {
        from: usize,
        to: usize,
        kind: usize,
    },
    /// `from` answers the `pick`-th message in its inbox (modulo how many there are).
    Reply {
        from: usize,
        pick: usize,
    },
    Read {
        session: usize,
        limit: usize,
        peek: bool,
        only_tasks: bool,
    },
    /// `session` takes the reply to the `pick`-th message it sent.
    TakeReply {
        session: usize,
        pick: usize,
    },
}

fn random_op(rng: &mut Xoshiro256PlusPlus, step: usize) -> Op {
    let session = rng.random_range(0..SESSIONS.len());
    let lock = rng.random_range(0..LOCKS.len());
    let regime = rng.random_range(0..REGIMES.len());
    match rng.random_range(0..100) {
        0..30 => Op::Acquire {
            session,
            lock,
            force: rng.random_bool(0.3),
            wait: rng.random_bool(0.3),
            regime,
            lock_delay: rng.random_bool(0.2),
        },
        30..40 => Op::Release {
            session,
            lock,
            regime,
        },
        40..44 => Op::Extend {
            session,
            lock,
            regime,
        },
        44..49 => Op::Check {
            session,
            lock,
            regime,
        },
        49..51 => Op::List { regime },
        51..54 => Op::LeaveQueue { session, lock },
        54 => Op::ReleaseAll {
            session,
            lock_delay: rng.random_bool(0.3),
        },
        55 => Op::ForceRelease {
            lock,
            regime,
            lock_delay: rng.random_bool(0.5),
        },
        56..60 => Op::Touch { session },
        60..70 => Op::Register {
            session,
            connection: rng.random_range(0..2),
            parent: rng
                .random_bool(0.4)
                .then(|| rng.random_range(0..SESSIONS.len())),
            claim: rng.random_bool(0.5),
        },
        70..74 => Op::End { session },
        74..77 => Op::Get { session },
        77..87 => Op::Send {
            from: session,
            to: rng.random_range(0..SESSIONS.len()),
            kind: rng.random_range(0..3),
        },
        87..90 => Op::Reply {
            from: session,
            pick: rng.random_range(0..step.max(1)),
        },
        90..97 => Op::Read {
            session,
            limit: rng.random_range(1..4),
            peek: rng.random_bool(0.3),
            only_tasks: rng.random_bool(0.2),
        },
        _ => Op::TakeReply {
            session,
            pick: rng.random_range(0..step.max(1)),
        },
    }
}

/// One store and what the test learned from its answers so far: tokens and messages in
/// order of first appearance (compared by that order), the last token of each lock.
struct Side {
    store: Arc<dyn Store>,
    /// Tokens seen: (lock, token). Tokens rise per lock; two locks may share a value.
    tokens: Vec<(String, u64)>,
    last_token: HashMap<String, u64>,
    /// Messages sent: (inbox, sender, id). Ids are unique within an inbox only.
    messages: Vec<(String, String, String)>,
}

impl Side {
    fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            tokens: Vec::new(),
            last_token: HashMap::new(),
            messages: Vec::new(),
        }
    }

    fn token_ord(&mut self, lock: &str, token: u64) -> usize {
        match self
            .tokens
            .iter()
            .position(|(l, t)| l == lock && *t == token)
        {
            Some(i) => i,
            None => {
                self.tokens.push((lock.to_string(), token));
                self.tokens.len() - 1
            }
        }
    }

    /// The order of first appearance of message `id` of `inbox`.
    fn id_ord(&mut self, inbox: &str, id: &str) -> usize {
        match self
            .messages
            .iter()
            .position(|(i, _, m)| i == inbox && m == id)
        {
            Some(i) => i,
            None => {
                self.messages
                    .push((inbox.to_string(), String::new(), id.to_string()));
                self.messages.len() - 1
            }
        }
    }

    /// A grant's token must rise above every earlier grant of that lock (or stay, re-entrant).
    fn granted(&mut self, lock: &str, token: u64, reentrant: bool) -> Result<(), String> {
        let last = self.last_token.get(lock).copied().unwrap_or(0);
        let fine = if reentrant {
            token == last
        } else {
            token > last
        };
        if !fine {
            return Err(format!(
                "{lock}: token {token} after {last} (reentrant: {reentrant})"
            ));
        }
        self.last_token.insert(lock.to_string(), token);
        Ok(())
    }

    /// `v` without clock readings; tokens and ids replaced by their order of appearance.
    fn scrub(&mut self, v: Value) -> Value {
        match v {
            Value::Object(mut map) => {
                // A message: its id is its inbox's (`to`); a reply's `reply_to` names a
                // message in the replier's inbox (`from`).
                let field = |m: &serde_json::Map<String, Value>, k: &str| {
                    m.get(k).and_then(Value::as_str).map(str::to_string)
                };
                let (to, from) = (field(&map, "to"), field(&map, "from"));
                for (key, inbox) in [("id", to), ("reply_to", from)] {
                    if let (Some(inbox), Some(id)) = (inbox, field(&map, key)) {
                        let ord = self.id_ord(&inbox, &id);
                        map.insert(key.to_string(), Value::from(ord));
                    }
                }
                self.scrub_fields(map)
            }
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.scrub(v)).collect()),
            other => other,
        }
    }

    fn scrub_fields(&mut self, map: serde_json::Map<String, Value>) -> Value {
        // A lock record names its lock `name`, a takeover note `lock`.
        let lock = ["name", "lock"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| match k.as_str() {
                    "now_ms" | "expires_at" | "acquired_at" | "holder_age_ms" | "at" | "at_ms"
                    | "sent_at_ms" | "last_seen_ms" | "registered_at_ms" => None,
                    "delay_until" | "ended_at_ms" | "expires_at_ms" => {
                        Some((k, Value::Bool(!v.is_null())))
                    }
                    "token" | "old_token" => {
                        let ord = v.as_u64().map(|t| self.token_ord(&lock, t));
                        Some((k, ord.map_or(Value::Null, Value::from)))
                    }
                    _ => Some((k, self.scrub(v))),
                })
                .collect(),
        )
    }

    fn show<T: serde::Serialize>(&mut self, label: &str, value: &T) -> String {
        let v = serde_json::to_value(value).expect("serializable");
        format!("{label} {}", self.scrub(v))
    }

    async fn run(&mut self, op: &Op) -> Result<String, String> {
        let store = self.store.clone();
        // Session writes always see everyone active (a name is in use by its live owner): the
        // settings forbid an active threshold of 0, and any other would depend on timing.
        let session_policy = SessionPolicy {
            tiers: REGIMES[0].1,
            max_children: 2,
            max_depth: 1,
            status_history: 5,
            ended_retention_ms: HOUR_MS,
        };
        let inbox_policy = InboxPolicy {
            cap: 5,
            ttl_ms: HOUR_MS,
        };
        let e = |e: mcp_coord::store::StoreError| format!("store error: {e}");
        Ok(match *op {
            Op::Acquire {
                session,
                lock,
                force,
                wait,
                regime,
                lock_delay,
            } => {
                let name = LockName::parse(LOCKS[lock], None).expect("valid");
                let req = AcquireRequest {
                    name: name.as_str().to_string(),
                    ancestors: name.ancestors(),
                    descendant_prefix: name.descendant_prefix(),
                    session: SESSIONS[session].to_string(),
                    ttl_ms: HOUR_MS,
                    reason: None,
                    force,
                    tiers: REGIMES[regime].1,
                    lock_delay_ms: if lock_delay { HOUR_MS } else { 0 },
                    waiter: wait.then(|| Waiter {
                        id: format!("w-{session}-{lock}"),
                        ttl_ms: HOUR_MS,
                    }),
                };
                let out = store.acquire(&req).await.map_err(e)?;
                if let AcquireOutcome::Granted(g) = &out {
                    self.granted(&g.lock.name, g.lock.token, g.reentrant)?;
                }
                self.show("acquire", &out)
            }
            Op::Release {
                session,
                lock,
                regime,
            } => {
                let name = canonical(lock);
                let out: ReleaseOutcome = store
                    .release(&name, SESSIONS[session], REGIMES[regime].1)
                    .await
                    .map_err(e)?;
                self.show("release", &out)
            }
            Op::Extend {
                session,
                lock,
                regime,
            } => {
                let name = canonical(lock);
                let out: ExtendOutcome = store
                    .extend(&ExtendRequest {
                        name,
                        session: SESSIONS[session].to_string(),
                        ttl_ms: HOUR_MS,
                        tiers: REGIMES[regime].1,
                    })
                    .await
                    .map_err(e)?;
                self.show("extend", &out)
            }
            Op::Check {
                session,
                lock,
                regime,
            } => {
                let out = store
                    .check(&canonical(lock), SESSIONS[session], REGIMES[regime].1)
                    .await
                    .map_err(e)?;
                self.show("check", &out)
            }
            Op::List { regime } => {
                let mut out = store.list(REGIMES[regime].1).await.map_err(e)?;
                out.locks.sort_by(|a, b| a.lock.name.cmp(&b.lock.name));
                self.show("list", &out)
            }
            Op::LeaveQueue { session, lock } => {
                store
                    .leave_queue(&canonical(lock), &format!("w-{session}-{lock}"))
                    .await
                    .map_err(e)?;
                let queues = store.queues(&[canonical(lock)]).await.map_err(e)?;
                self.show("left the queue; queues", &queues)
            }
            Op::ReleaseAll {
                session,
                lock_delay,
            } => {
                let delay = if lock_delay { HOUR_MS } else { 0 };
                let mut out = store
                    .release_all_held_by(SESSIONS[session], delay)
                    .await
                    .map_err(e)?;
                out.sort();
                format!("released all: {out:?}")
            }
            Op::ForceRelease {
                lock,
                regime,
                lock_delay,
            } => {
                let out = store
                    .force_release(&ForceRelease {
                        name: canonical(lock),
                        by: "admin".into(),
                        lock_delay_ms: if lock_delay { HOUR_MS } else { 0 },
                        tiers: REGIMES[regime].1,
                    })
                    .await
                    .map_err(e)?;
                self.show("force release", &out)
            }
            Op::Touch { session } => {
                let (_, previous) = store
                    .touch_session(SESSIONS[session], &session_policy)
                    .await
                    .map_err(e)?;
                format!("touched: was live {}", previous.is_some())
            }
            Op::Register {
                session,
                connection,
                parent,
                claim,
            } => {
                let name = SESSIONS[session];
                let connection = format!("c{connection}");
                let existing = store.get_session(name).await.map_err(e)?;
                let parent = parent.map(|p| SESSIONS[p]).filter(|p| *p != name);
                let parent_depth = match parent {
                    Some(p) => store
                        .get_session(p)
                        .await
                        .map_err(e)?
                        .map(|e| e.record.depth),
                    None => None,
                };
                let mut record = SessionRecord::new(name, Role::Agent, 1_000);
                record.connection_id = connection.clone();
                record.parent = parent.map(String::from);
                record.depth = parent.map_or(0, |_| parent_depth.unwrap_or(0) + 1);
                record.registered = true;
                record.rev = existing.as_ref().map_or(1, |p| p.record.rev + 1);
                let out = store
                    .put_session(PutSession {
                        record,
                        expected: existing.map(|e| e.record),
                        expected_parent_depth: parent_depth,
                        claim: claim.then_some(connection),
                        policy: session_policy,
                    })
                    .await
                    .map_err(e)?;
                match out {
                    PutOutcome::Written(entry) => {
                        let live = entry.live;
                        let shown = self.show("written", &entry.record);
                        format!("{shown} live={live}")
                    }
                    PutOutcome::Owned { connection_id, .. } => format!("owned by {connection_id}"),
                    PutOutcome::Refused(r) => format!("refused {r:?}"),
                    PutOutcome::Changed => "changed".to_string(),
                }
            }
            Op::End { session } => {
                let name = SESSIONS[session];
                match store.get_session(name).await.map_err(e)? {
                    None => "end: no record".to_string(),
                    Some(entry) => {
                        let mut record = entry.record.clone();
                        record.ended_at_ms = Some(store.now_ms().await.map_err(e)?);
                        record.end_reason = Some("differential".into());
                        record.rev += 1;
                        match store
                            .end_session(record, entry.record.rev, None)
                            .await
                            .map_err(e)?
                        {
                            EndOutcome::Ended(ended) => {
                                let live = ended.live;
                                let shown = self.show("ended", &ended.record);
                                format!("{shown} live={live}")
                            }
                            other => format!("end: {other:?}"),
                        }
                    }
                }
            }
            Op::Get { session } => match store.get_session(SESSIONS[session]).await.map_err(e)? {
                Some(entry) => {
                    let live = entry.live;
                    let shown = self.show("session", &entry.record);
                    format!("{shown} live={live}")
                }
                None => "no session".to_string(),
            },
            Op::Send { from, to, kind } => {
                let kind = [MessageKind::Info, MessageKind::Task, MessageKind::Question][kind];
                let body = format!("{} from {}", kind.as_str(), SESSIONS[from]);
                let message = Message::new(SESSIONS[from], SESSIONS[to], kind, body);
                let out = store
                    .send_message(&message, None, &inbox_policy)
                    .await
                    .map_err(e)?;
                self.sent(&message, out)
            }
            Op::Reply { from, pick } => {
                let inbox: Vec<_> = self
                    .messages
                    .iter()
                    .filter(|(i, sender, _)| i == SESSIONS[from] && !sender.is_empty())
                    .cloned()
                    .collect();
                if inbox.is_empty() {
                    return Ok("reply: nothing to answer".to_string());
                }
                let (_, asker, id) = inbox[pick % inbox.len()].clone();
                let mut message = Message::new(
                    SESSIONS[from],
                    &asker,
                    MessageKind::Reply,
                    format!("answer from {}", SESSIONS[from]),
                );
                message.reply_to = Some(id);
                self.sent(
                    &message,
                    store
                        .send_message(&message, None, &inbox_policy)
                        .await
                        .map_err(e)?,
                )
            }
            Op::Read {
                session,
                limit,
                peek,
                only_tasks,
            } => {
                let query = ReadQuery {
                    limit,
                    peek,
                    kinds: only_tasks.then(|| vec![MessageKind::Task]),
                    inbox: inbox_policy,
                };
                let out = store
                    .read_messages(SESSIONS[session], &query)
                    .await
                    .map_err(e)?;
                self.show("read", &out)
            }
            Op::TakeReply { session, pick } => {
                let asked: Vec<_> = self
                    .messages
                    .iter()
                    .filter(|(_, sender, _)| sender == SESSIONS[session])
                    .cloned()
                    .collect();
                if asked.is_empty() {
                    return Ok("take reply: nothing asked".to_string());
                }
                // Ids are unique per inbox: name who was asked, as the service does.
                let (asked_inbox, _, id) = asked[pick % asked.len()].clone();
                let wanted = [WantedReply {
                    id,
                    from: Some(asked_inbox),
                }];
                let out = store
                    .take_reply(SESSIONS[session], &wanted, 0)
                    .await
                    .map_err(e)?;
                self.show("took reply", &out)
            }
        })
    }

    /// A send's outcome; a sent message is remembered with its inbox and sender.
    fn sent(&mut self, message: &Message, out: SendOutcome) -> String {
        match out {
            SendOutcome::Sent { id, .. } => {
                let ord = self.id_ord(&message.to, &id);
                self.messages[ord].1 = message.from.clone();
                format!("sent #{ord}")
            }
            SendOutcome::NotLive => "not live".to_string(),
        }
    }
}

fn canonical(lock: usize) -> String {
    LockName::parse(LOCKS[lock], None)
        .expect("valid")
        .as_str()
        .to_string()
}

/// Runs one seed's sequence on both stores; the first difference fails with the seed.
async fn run_seed(seed: u64) {
    let redis = RedisServer::start();
    let mut on_redis = Side::new(redis_store(&redis, |_| {}).await);
    let mut embedded = Side::new(embedded_store(|_| {}).await);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut history: Vec<String> = Vec::new();
    for step in 0..STEPS {
        let op = random_op(&mut rng, step);
        let a = on_redis.run(&op).await;
        let b = embedded.run(&op).await;
        if a != b || a.is_err() {
            let recent = history[history.len().saturating_sub(12)..].join("\n  ");
            panic!(
                "the stores differ at step {step} of seed {seed} (reproduce: DIFF_SEED={seed} \
                 cargo test --test it differential)\n  op: {op:?}\n  redis:    {a:?}\n  \
                 embedded: {b:?}\nthe steps before:\n  {recent}"
            );
        }
        history.push(format!("{step}: {op:?} → {}", a.unwrap_or_default()));
    }
}

/// The seeds of this run: `DIFF_SEED` alone, or `DIFF_SEEDS` fresh ones (default 3).
fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("DIFF_SEED") {
        return vec![seed.trim().parse().expect("DIFF_SEED is a number")];
    }
    let count = std::env::var("DIFF_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (0..count).map(|i| base.wrapping_add(i)).collect()
}

#[tokio::test]
async fn redis_and_the_embedded_store_agree_step_by_step() {
    for seed in seeds() {
        eprintln!("differential: seed {seed} ({STEPS} steps)");
        run_seed(seed).await;
    }
}
