// mcp-coord dashboard: a snapshot from /dashboard/state, then live events from /events.
//
// Why one hand-written module and not a framework: the daemon already speaks JSON on
// /events (mcp-coord watch reads the same stream), the page needs client state anyway
// (ticking countdowns, filters, folding, reconnecting), and this file is the whole client:
// no build step, no dependency, nothing but the daemon's own origin.
//
// Flow: open /events (read with fetch, so headers can carry credentials and the page
// controls reconnecting); on `ready`, fetch the snapshot while buffering events; apply the
// snapshot, replay the buffer (every event handler sets state, so replaying one the
// snapshot already contains is harmless), then apply events as they come. DOM updates are
// batched into one animation frame; rows are keyed and patched, never rebuilt wholesale,
// so 200 sessions and 1,000 locks stay cheap.

const STATS_EVERY_S = 5;
const ACTIVITY_KEPT = 500;
const ACTIVITY_SHOWN = 200;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// ---------- state ----------

const state = {
  offsetMs: 0, // store clock minus this browser's clock
  sessions: new Map(), // name -> session
  locks: new Map(), // name -> lock entry
  tasks: new Map(), // project -> board (service::dashboard_tasks::ProjectTasks)
  generation: 0, // snapshots applied: a board read before the latest one is dropped
  activity: [], // oldest first
  daemon: null,
  daemonAtMs: 0,
  prevTotals: null,
  rates: null,
  filter: "",
  live: false,
};

const dirty = { sessions: new Set(), tree: false, locks: new Set(), lockOrder: false, tasks: new Set(), daemon: false, activity: [] };
let frame = 0;

/// The store clock seen in `ms` now: every sample arrives late by its trip here, so the
/// largest offset seen (per connection) is the closest to the truth.
function noteServerTime(ms) {
  if (typeof ms !== "number") return;
  const offset = ms - Date.now();
  if (!state.offsetKnown || offset > state.offsetMs) state.offsetMs = offset;
  state.offsetKnown = true;
}

function serverNow() {
  return Date.now() + state.offsetMs;
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(flush);
}

// ---------- formatting ----------

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function duration(s) {
  s = Math.max(0, Math.floor(s));
  const two = (n, a, m, b) => (m ? `${n} ${a} ${m} ${b}` : `${n} ${a}`);
  if (s < 60) return `${s} s`;
  if (s < 3600) return two(Math.floor(s / 60), "min", s % 60, "s");
  if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
  return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
}

// One formatter for every time shown (creating one per call is slow with many rows).
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

function clock(ms) {
  return timeFormat.format(new Date(ms - state.offsetMs));
}

function tierOf(name) {
  const s = state.sessions.get(name);
  if (!s) return null;
  return s.ended_at_ms ? "ended" : s.tier || "active";
}

function tierBadge(tier) {
  const t = tier || "ended";
  return el("span", { class: `tier tier-${t}`, text: t });
}

// ---------- applying the snapshot and events ----------

function touchSession(name, atMs) {
  const s = state.sessions.get(name);
  if (s && !s.ended_at_ms && atMs && atMs > (s.last_seen_ms || 0)) {
    s.last_seen_ms = atMs;
    if (s.tier !== "active") {
      s.tier = "active";
      markSession(name);
    }
  }
}

function markSession(name) {
  dirty.sessions.add(name);
  schedule();
}

function markLock(name) {
  dirty.locks.add(name);
  schedule();
}

function markLocksOf(session) {
  for (const [name, l] of state.locks) {
    if (l.holder === session || l.waiters.includes(session)) dirty.locks.add(name);
  }
  schedule();
}

function applySnapshot(snap) {
  noteServerTime(snap.now_ms);
  state.sessions.clear();
  for (const s of snap.sessions) state.sessions.set(s.name, s);
  state.locks.clear();
  for (const l of snap.locks) state.locks.set(l.lock, l);
  state.generation++;
  state.tasks.clear();
  for (const b of snap.tasks || []) state.tasks.set(b.project, b);
  state.activity = [];
  for (const e of snap.activity) pushActivity(e);
  state.endedNotShown = snap.ended_not_shown;
  setDaemon(snap.daemon);
  // Everything is new: rebuild the views from scratch (the only time we do).
  $("session-tree").replaceChildren();
  $("ended-list").replaceChildren();
  $("lock-rows").replaceChildren();
  $("task-boards").replaceChildren();
  taskBoards.clear();
  for (const p of state.tasks.keys()) dirty.tasks.add(p);
  sessionNodes.clear();
  lockRows.clear();
  if (lockWatch) lockWatch.disconnect();
  if (sessionWatch) sessionWatch.disconnect();
  onScreen.locks.clear();
  onScreen.sessions.clear();
  for (const name of state.sessions.keys()) dirty.sessions.add(name);
  for (const name of state.locks.keys()) dirty.locks.add(name);
  dirty.tree = true;
  dirty.lockOrder = true;
  dirty.activity = null; // null = rebuild the feed
  schedule();
}

function setDaemon(facts) {
  state.daemon = facts;
  state.daemonAtMs = Date.now();
  noteServerTime(facts.now_ms);
  const t = facts.totals;
  if (state.prevTotals && facts.now_ms > state.prevTotals.now_ms) {
    const dt = (facts.now_ms - state.prevTotals.now_ms) / 1000;
    const rate = (k) => Math.max(0, t[k] - state.prevTotals.totals[k]) / dt;
    state.rates = {
      tool_calls: rate("tool_calls"),
      lock_grants: rate("lock_grants"),
      lock_refusals: rate("lock_refusals"),
      messages_sent: rate("messages_sent"),
    };
  }
  state.prevTotals = { now_ms: facts.now_ms, totals: t };
  dirty.daemon = true;
  schedule();
}

function upsertSession(name, fields) {
  let s = state.sessions.get(name);
  const revived = !s || s.ended_at_ms;
  if (!s) {
    s = { name };
    state.sessions.set(name, s);
  }
  if (revived) {
    for (const k of ["state", "progress", "summary", "state_at_ms", "ended_at_ms", "end_reason"]) delete s[k];
    dirty.tree = true;
  }
  if ((s.parent || null) !== (fields.parent || null)) dirty.tree = true;
  Object.assign(s, fields);
  markSession(name);
}

function lockEntry(name) {
  let l = state.locks.get(name);
  if (!l) {
    l = { lock: name, holder: null, token: null, expires_at: null, waiters: [] };
    state.locks.set(name, l);
    dirty.lockOrder = true;
  }
  return l;
}

function dropLockIfIdle(name) {
  const l = state.locks.get(name);
  if (!l || l.holder) return;
  const delay = l.lock_delay_until && l.lock_delay_until > serverNow();
  if (l.waiters.length === 0 && !delay) {
    state.locks.delete(name);
    dirty.lockOrder = true;
  }
}

function apply(e) {
  noteServerTime(e.at_ms);
  switch (e.event) {
    case "session_registered":
      upsertSession(e.session, {
        parent: e.parent || null,
        role: e.role || (state.sessions.get(e.session) || {}).role || "agent",
        project: e.project,
        task: e.task,
        branch: e.branch,
        cwd: e.cwd,
        registered: !e.implicit,
        tier: "active",
        status: "active",
        last_seen_ms: e.at_ms,
        registered_at_ms: e.at_ms,
      });
      markLocksOf(e.session);
      markTasksOf(e.session);
      // A child spawned for a task (create_session(task=…)) has just been given it.
      if (e.task && e.project) refreshTasks(e.project);
      break;
    case "session_seen":
      touchSession(e.session, e.at_ms);
      markSession(e.session);
      break;
    case "tier_changed": {
      const s = state.sessions.get(e.session);
      if (s && !s.ended_at_ms) {
        s.tier = e.to;
        if (e.to === "active") s.last_seen_ms = Math.max(s.last_seen_ms || 0, e.at_ms);
        markSession(e.session);
        markLocksOf(e.session);
        markTasksOf(e.session);
      }
      break;
    }
    case "status_reported": {
      const s = state.sessions.get(e.session);
      if (s) {
        s.state = e.report.state;
        s.progress = e.report.progress;
        s.summary = e.report.summary;
        s.state_at_ms = e.report.at_ms;
        markSession(e.session);
      }
      touchSession(e.session, e.report.at_ms);
      break;
    }
    case "session_ended": {
      const s = state.sessions.get(e.session);
      if (s) {
        s.ended_at_ms = e.at_ms;
        s.end_reason = e.reason;
        s.tier = null;
        s.status = "ended";
        dirty.tree = true;
        markSession(e.session);
        markLocksOf(e.session);
        // Its tasks go back to pending (the reaper's hand-back).
        for (const p of projectsOf(e.session)) refreshTasks(p);
        markTasksOf(e.session);
      }
      break;
    }
    case "lock_granted":
    case "lock_taken_over": {
      const l = lockEntry(e.lock);
      l.holder = e.holder;
      l.token = e.token;
      l.expires_at = e.expires_at ?? l.expires_at;
      l.acquired_at = e.at_ms;
      l.reason = e.reason;
      l.waiters = l.waiters.filter((w) => w !== e.holder);
      l.forced_by = undefined;
      if (e.event === "lock_taken_over") {
        l.taken_over_from = e.from;
        l.lock_delay_until = e.lock_delay_until;
        l.reserved_for = e.lock_delay_until ? e.holder : undefined;
      } else {
        l.taken_over_from = undefined;
        l.lock_delay_until = undefined;
        l.reserved_for = undefined;
      }
      l.flash = true;
      markLock(e.lock);
      markSession(e.holder);
      if (e.from) markSession(e.from);
      touchSession(e.holder, e.at_ms);
      break;
    }
    case "lock_extended": {
      const l = lockEntry(e.lock);
      l.holder = e.holder;
      l.token = e.token;
      l.expires_at = e.expires_at;
      markLock(e.lock);
      touchSession(e.holder, e.at_ms);
      break;
    }
    case "lock_released": {
      // A lock in lock-delay (force-released, or its holder ended by an admin) stays on the
      // board as free until the delay ends, saying why nobody gets it.
      const l = e.lock_delay_until ? lockEntry(e.lock) : state.locks.get(e.lock);
      if (l && (l.holder === e.holder || !l.holder)) {
        l.holder = null;
        l.token = null;
        l.expires_at = null;
        l.taken_over_from = undefined;
        l.reserved_for = undefined;
        l.lock_delay_until = e.lock_delay_until;
        l.forced_by = e.forced_by;
        l.flash = true;
        dropLockIfIdle(e.lock);
        markLock(e.lock);
      }
      markSession(e.holder);
      break;
    }
    case "lock_queued": {
      const l = lockEntry(e.lock);
      if (!l.waiters.includes(e.session)) {
        const at = Math.min(Math.max(0, (e.position || l.waiters.length + 1) - 1), l.waiters.length);
        l.waiters.splice(at, 0, e.session);
      }
      markLock(e.lock);
      touchSession(e.session, e.at_ms);
      break;
    }
    case "lock_queue_left": {
      const l = state.locks.get(e.lock);
      if (l) {
        l.waiters = l.waiters.filter((w) => w !== e.session);
        dropLockIfIdle(e.lock);
        markLock(e.lock);
      }
      break;
    }
    case "message_sent":
      touchSession(e.from, e.at_ms);
      break;
    case "daemon_stats":
      setDaemon(e);
      return; // not activity
    case "task_created":
    case "task_claimed":
    case "task_updated":
    case "task_released":
      refreshTasks(e.project);
      for (const who of [e.assignee, e.by]) if (who) touchSession(who, e.at_ms);
      break;
    default:
      if (e.event && e.event.startsWith("task_")) refreshTasks(e.project);
      break; // kinds this page does not know yet still show in the feed
  }
  if (e.event !== "session_seen") pushActivity(e);
}

// ---------- activity feed ----------

const KINDS = {
  session_registered: "registered",
  tier_changed: "tier",
  status_reported: "report",
  session_ended: "ended",
  lock_granted: "lock granted",
  lock_taken_over: "lock taken over",
  lock_extended: "lock extended",
  lock_released: "lock released",
  lock_queued: "queued",
  lock_queue_left: "left queue",
  message_sent: "message",
  task_created: "tasks planned",
  task_claimed: "task claimed",
  task_updated: "task updated",
  task_released: "task handed back",
};

const QUEUE_EXITS = { granted: "granted", timed_out: "timed out", cancelled: "cancelled" };

function describe(e) {
  switch (e.event) {
    case "session_registered":
      return `${e.session} registered${e.implicit ? " (by its first tool call)" : ""}${e.parent ? `, child of ${e.parent}` : ""}${e.branch ? `, branch ${e.branch}` : ""}`;
    case "tier_changed":
      return `${e.session}: ${e.from || "?"} → ${e.to}`;
    case "status_reported": {
      const r = e.report;
      return `${e.session} is ${r.state}${r.progress != null ? ` (${r.progress}%)` : ""}${r.summary ? ` — ${r.summary}` : ""}`;
    }
    case "session_ended":
      return `${e.session} ended (${e.reason})`;
    case "lock_granted":
      return `${e.holder} took ${e.lock} (token ${e.token})${e.reason ? ` — ${e.reason}` : ""}`;
    case "lock_taken_over":
      return `${e.holder} took ${e.lock} over from ${e.from} (token ${e.token})`;
    case "lock_extended":
      return `${e.holder} extended ${e.lock} (token ${e.token})`;
    case "lock_released": {
      const delay = e.lock_delay_until ? ` — nobody gets it before ${clock(e.lock_delay_until)} (lock-delay)` : "";
      return e.forced_by
        ? `${e.forced_by} force-released ${e.lock} from ${e.holder}${delay}`
        : `${e.holder} released ${e.lock}${delay}`;
    }
    case "lock_queued":
      return `${e.session} waits for ${e.lock} (number ${e.position} in line)`;
    case "lock_queue_left":
      return `${e.session} left the queue of ${e.lock}: ${QUEUE_EXITS[e.outcome] || e.outcome}`;
    case "message_sent":
      return `${e.from} → ${e.to}: ${e.kind} message${e.subject ? ` "${e.subject}"` : ""}${e.body ? ` — ${e.body}` : ""}`;
    case "task_created":
      return `${e.by} planned ${e.ids.length} task${e.ids.length === 1 ? "" : "s"} in ${e.project} (batch ${e.batch})${e.ready && e.ready.length ? `, ready: ${e.ready.map((i) => `#${i}`).join(", ")}` : ""}`;
    case "task_claimed":
      return `${e.assignee} claimed ${e.project} #${e.task}${e.title ? ` ${e.title}` : ""}${e.locks && e.locks.length ? ` with ${e.locks.join(", ")}` : ""}`;
    case "task_updated":
      return `${e.project} #${e.task}: ${e.previous && e.previous !== e.status ? `${e.previous} → ` : ""}${e.status}${e.progress != null ? ` (${e.progress}%)` : ""} by ${e.by}${e.note ? ` — ${e.note}` : ""}${e.unblocked && e.unblocked.length ? `; now ready: ${e.unblocked.map((i) => `#${i}`).join(", ")}` : ""}`;
    case "task_released":
      return `${e.project} #${e.task} back to pending: ${e.from} ${e.reason}`;
    default: {
      const { event, ...rest } = e;
      return Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
    }
  }
}

function sessionsOf(e) {
  return [e.session, e.holder, e.from, e.to, e.assignee, e.by].filter((x) => typeof x === "string" && x);
}

function eventTime(e) {
  return e.at_ms || (e.report && e.report.at_ms) || serverNow();
}

function pushActivity(e) {
  const item = { e, at: eventTime(e), sessions: sessionsOf(e), key: JSON.stringify(e) };
  state.activity.push(item);
  if (state.activity.length > ACTIVITY_KEPT) state.activity.shift();
  if (dirty.activity) dirty.activity.push(item);
  noteFilterOptions(item);
  schedule();
}

const knownKinds = new Set();
const knownSessions = new Set();

function noteFilterOptions(item) {
  const kind = item.e.event;
  if (!knownKinds.has(kind)) {
    knownKinds.add(kind);
    $("act-kind").append(el("option", { value: kind, text: KINDS[kind] || kind }));
  }
  for (const s of item.sessions) {
    if (knownSessions.has(s)) continue;
    knownSessions.add(s);
    // Keep the options sorted; there are few of them compared to events.
    const select = $("act-session");
    const opt = el("option", { value: s, text: s });
    const after = [...select.options].slice(1).find((o) => o.value > s);
    select.insertBefore(opt, after || null);
  }
}

function activityMatches(item) {
  const kind = $("act-kind").value;
  const session = $("act-session").value;
  return (!kind || item.e.event === kind) && (!session || item.sessions.includes(session));
}

function activityRow(item) {
  const e = item.e;
  // An admin may read a message's body (a peek into the recipient's inbox); others see
  // sender, recipient and kind only.
  const read =
    e.event === "message_sent" && isAdmin() && e.message_id
      ? el("button", { type: "button", class: "admin-btn", "data-action": "read", "data-to": e.to, "data-id": e.message_id, "aria-label": `Read the message from ${e.from} to ${e.to}`, text: "Read" })
      : null;
  return el(
    "li",
    { "data-kind": e.event },
    el("time", { datetime: new Date(item.at - state.offsetMs).toISOString(), text: clock(item.at) }),
    el("span", { class: "kind", text: KINDS[e.event] || e.event }),
    el("span", { class: "text", text: describe(e) }),
    read,
  );
}

function renderActivity() {
  const list = $("activity-list");
  if (dirty.activity === null) {
    const rows = [];
    for (let i = state.activity.length - 1; i >= 0 && rows.length < ACTIVITY_SHOWN; i--) {
      if (activityMatches(state.activity[i])) rows.push(activityRow(state.activity[i]));
    }
    list.replaceChildren(...rows);
  } else {
    for (const item of dirty.activity) {
      if (activityMatches(item)) list.prepend(activityRow(item));
    }
    while (list.children.length > ACTIVITY_SHOWN) list.lastElementChild.remove();
  }
  dirty.activity = [];
}

// ---------- sessions ----------

const sessionNodes = new Map(); // name -> { li, parts }

function sessionNode(name) {
  let n = sessionNodes.get(name);
  if (n) return n;
  const parts = {
    tier: el("span", { class: "tier" }),
    name: el("span", { class: "name", text: name }),
    role: el("span", { class: "role" }),
    state: el("span", { class: "state" }),
    progress: el("progress", { max: "100" }),
    pct: el("span", { class: "pct" }),
    seen: el("span", { class: "seen" }),
    toggle: el("button", { type: "button", class: "toggle", "aria-expanded": "true" }),
    summary: el("div", { class: "summary" }),
    meta: el("div", { class: "meta" }),
    held: el("div", { class: "held" }),
    children: el("ul", { class: "tree", id: `children-${cssId(name)}` }),
  };
  parts.toggle.setAttribute("aria-controls", parts.children.id);
  parts.toggle.addEventListener("click", () => {
    const open = parts.toggle.getAttribute("aria-expanded") !== "true";
    parts.toggle.setAttribute("aria-expanded", String(open));
    parts.children.hidden = !open;
    renderSession(name);
  });
  const line = el("div", { class: "line" }, parts.tier, parts.name, parts.role, parts.state, parts.progress, parts.pct, parts.seen, parts.toggle);
  if (isAdmin()) {
    parts.admin = el(
      "span",
      { class: "admin-only" },
      adminButton("message", name, "Message", `Send a message to ${name}`, false),
      adminButton("end", name, "End", `End session ${name}`, true),
    );
    line.append(parts.admin);
  }
  const node = el("div", { class: "node" }, line, parts.summary, parts.meta, parts.held);
  parts.node = node;
  const li = el("li", { "data-session": name }, node, parts.children);
  n = { li, parts };
  sessionNodes.set(name, n);
  watchSessionNode(li);
  return n;
}

function cssId(name) {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}

const collator = new Intl.Collator(undefined, { numeric: true });
const byName = (a, b) => collator.compare(a, b);

/// session -> the locks it holds, rebuilt at most once per frame.
let heldIndex = null;

function heldLocks(name) {
  if (!heldIndex) {
    heldIndex = new Map();
    for (const l of state.locks.values()) {
      if (!l.holder) continue;
      if (!heldIndex.has(l.holder)) heldIndex.set(l.holder, []);
      heldIndex.get(l.holder).push(l.lock);
    }
    for (const list of heldIndex.values()) list.sort(byName);
  }
  return heldIndex.get(name) || [];
}

function renderSession(name) {
  const s = state.sessions.get(name);
  if (!s) {
    const n = sessionNodes.get(name);
    if (n) {
      n.li.remove();
      if (sessionWatch) sessionWatch.unobserve(n.li);
    }
    onScreen.sessions.delete(name);
    sessionNodes.delete(name);
    return;
  }
  const { li, parts } = sessionNode(name);
  const tier = s.ended_at_ms ? "ended" : s.tier || "active";
  li.dataset.tier = tier;
  parts.tier.className = `tier tier-${tier}`;
  setText(parts.tier, tier);
  setText(parts.role, s.role || "");
  const st = s.state || "";
  parts.state.className = `state state-${st}`;
  setText(parts.state, st);
  parts.state.hidden = !st;
  const hasProgress = s.progress !== undefined && s.progress !== null;
  parts.progress.hidden = !hasProgress;
  parts.pct.hidden = !hasProgress;
  if (hasProgress) {
    parts.progress.value = s.progress;
    parts.progress.setAttribute("aria-label", `${name}: ${s.progress}% done`);
    setText(parts.pct, `${s.progress}%`);
  }
  setText(parts.summary, s.summary || "");
  parts.summary.hidden = !s.summary;
  const meta = [];
  const working = s.ended_at_ms ? [] : boardTasksOf(name);
  if (working.length) meta.push(`working on ${working.join(", ")}`);
  if (s.task && !working.length) meta.push(`task ${s.task}`);
  if (s.project) meta.push(`project ${s.project}`);
  if (s.branch) meta.push(`branch ${s.branch}`);
  if (s.cwd) meta.push(s.cwd);
  if (s.ended_at_ms) meta.push(`ended ${ago(serverNow() - s.ended_at_ms)}${s.end_reason ? ` (${s.end_reason})` : ""}`);
  setText(parts.meta, meta.join(" · "));
  parts.meta.hidden = meta.length === 0;
  const held = s.ended_at_ms ? [] : heldLocks(name);
  const heldKey = held.join("\n");
  if (parts.held.dataset.key !== heldKey) {
    parts.held.dataset.key = heldKey;
    parts.held.replaceChildren(
      ...(held.length ? [el("span", { class: "held-label", text: "holds" })] : []),
      ...held.map((l) => el("code", { class: "chip", text: l })),
    );
    parts.held.setAttribute("aria-label", held.length ? `holds ${held.join(", ")}` : "");
  }
  parts.held.hidden = held.length === 0;
  const kids = parts.children.children.length;
  parts.toggle.hidden = kids === 0;
  if (kids) {
    const open = parts.toggle.getAttribute("aria-expanded") === "true";
    setText(parts.toggle, `${open ? "▾" : "▸"} ${kids}`);
    parts.toggle.setAttribute("aria-label", `${open ? "Hide" : "Show"} the ${kids} child session${kids === 1 ? "" : "s"} of ${name}`);
  }
  renderSeen(s, parts);
  if (parts.admin) parts.admin.hidden = !!s.ended_at_ms;
  // Only the node itself: a child that matches stays visible under a parent that does not.
  parts.node.hidden = !matchesFilter([s.name, s.branch, s.task, s.project, s.cwd, s.summary, ...held]);
}

function renderSeen(s, parts) {
  if (s.ended_at_ms) {
    parts.seen.hidden = true;
    return;
  }
  parts.seen.hidden = !s.last_seen_ms;
  if (s.last_seen_ms) setText(parts.seen, `last active ${ago(serverNow() - s.last_seen_ms)}`);
}

/// Puts every session node under its parent (or the root list), siblings sorted by name,
/// moving only the nodes that are out of place (moving a node would drop its focus).
function placeSessions() {
  const byParent = new Map();
  const ended = [];
  for (const s of state.sessions.values()) {
    if (s.ended_at_ms) {
      ended.push(s);
      continue;
    }
    const parent = s.parent && state.sessions.has(s.parent) && !state.sessions.get(s.parent).ended_at_ms ? s.parent : "";
    if (!byParent.has(parent)) byParent.set(parent, []);
    byParent.get(parent).push(s.name);
  }
  const arrange = (ul, names) => {
    names.forEach((name, i) => {
      const li = sessionNode(name).li;
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    while (ul.children.length > names.length) ul.lastElementChild.remove();
  };
  const visit = (parent, ul) => {
    const names = (byParent.get(parent) || []).sort(byName);
    arrange(ul, names);
    for (const name of names) visit(name, sessionNode(name).parts.children);
  };
  visit("", $("session-tree"));
  ended.sort((a, b) => b.ended_at_ms - a.ended_at_ms);
  arrange($("ended-list"), ended.map((s) => s.name));
  const live = state.sessions.size - ended.length;
  setText($("sessions-count"), `(${live} live)`);
  $("sessions-empty").hidden = live > 0;
  setText($("ended-count"), String(ended.length + (state.endedNotShown || 0)));
  // Every node's child count may have changed.
  for (const name of state.sessions.keys()) dirty.sessions.add(name);
}

// ---------- locks ----------

const lockRows = new Map(); // name -> { tr, cells }

function lockRow(name) {
  let r = lockRows.get(name);
  if (r) return r;
  const cells = {
    lock: el("td", null, el("code", { text: name })),
    holder: el("td", { class: "holder" }),
    token: el("td", { class: "mono token" }),
    ttl: el("td", { class: "ttl" }),
    waiters: el("td"),
    notes: el("td", { class: "notes" }),
  };
  cells.ttlText = el("span", { class: "ttltext" });
  cells.ttlBar = el("span");
  cells.ttl.append(cells.ttlText, el("span", { class: "ttlbar", "aria-hidden": "true" }, cells.ttlBar));
  const tr = el("tr", { "data-lock": name }, cells.lock, cells.holder, cells.token, cells.ttl, cells.waiters, cells.notes);
  if (isAdmin()) {
    tr.append(el("td", { class: "admin-only" }, adminButton("release", name, "Force release", `Force-release ${name}`, true)));
  }
  r = { tr, cells };
  lockRows.set(name, r);
  watchLockRow(tr);
  return r;
}

function forgetLockRow(name, r) {
  r.tr.remove();
  if (lockWatch) lockWatch.unobserve(r.tr);
  onScreen.locks.delete(name);
  lockRows.delete(name);
}

function renderLock(name) {
  const l = state.locks.get(name);
  if (!l) {
    const r = lockRows.get(name);
    if (r) forgetLockRow(name, r);
    return;
  }
  const { tr, cells } = lockRow(name);
  tr.classList.toggle("free", !l.holder);
  if (l.holder) {
    const tier = tierOf(l.holder) || l.holder_tier || "ended";
    const key = `${l.holder}|${tier}`;
    if (cells.holder.dataset.key !== key) {
      cells.holder.dataset.key = key;
      cells.holder.replaceChildren(el("span", { class: "who", text: `${l.holder} ` }), tierBadge(tier));
    }
  } else if (cells.holder.dataset.key !== "") {
    cells.holder.dataset.key = "";
    cells.holder.replaceChildren("free");
  }
  setText(cells.token, l.token != null ? String(l.token) : "—");
  const wkey = l.waiters.map((w) => `${w}|${tierOf(w)}`).join("\n");
  if (cells.waiters.dataset.key !== wkey) {
    cells.waiters.dataset.key = wkey;
    cells.waiters.replaceChildren(
      l.waiters.length
        ? el("ol", { class: "waiters" }, ...l.waiters.map((w) => el("li", { "data-waiter": w }, `${w} `, tierBadge(tierOf(w) || "active"))))
        : "—",
    );
  }
  const notes = [];
  if (l.reason) notes.push(l.reason);
  if (l.taken_over_from) notes.push(`taken over from ${l.taken_over_from}`);
  if (l.forced_by) notes.push(`force-released by ${l.forced_by}`);
  const now = serverNow();
  if (l.lock_delay_until && l.lock_delay_until > now) {
    const left = `${Math.ceil((l.lock_delay_until - now) / 1000)} s`;
    notes.push(
      l.reserved_for || l.holder
        ? `lock-delay: only ${l.reserved_for || l.holder} until ${clock(l.lock_delay_until)} (${left})`
        : `lock-delay: nobody gets it until ${clock(l.lock_delay_until)} (${left}), then its waiters in order`,
    );
  }
  setText(cells.notes, notes.join(" · "));
  renderTtl(l, cells);
  tr.hidden = !matchesFilter([l.lock, l.holder, l.reason, ...l.waiters]);
  if (l.flash) {
    // Restart the highlight in the next frame (forcing a layout here, once per event, made
    // a burst of changes on a 1,000-row table take seconds).
    l.flash = false;
    tr.classList.remove("flash");
    pendingFlash.push(tr);
  }
}

let pendingFlash = [];

/// Highlights rows that just changed, unless a burst changed many at once (then the
/// highlight tells nothing and costs a repaint of each row for a second).
function startFlashes() {
  if (!pendingFlash.length) return;
  const rows = pendingFlash.length <= 20 ? pendingFlash : [];
  pendingFlash = [];
  requestAnimationFrame(() => {
    for (const tr of rows) tr.classList.add("flash");
  });
}

function renderTtl(l, cells) {
  if (!l.holder || !l.expires_at) {
    setText(cells.ttlText, "—");
    cells.ttlBar.style.transform = "scaleX(0)";
    cells.ttl.classList.remove("low");
    return;
  }
  const left = (l.expires_at - serverNow()) / 1000;
  setText(cells.ttlText, left > 0 ? duration(Math.round(left)) : "expired");
  const span = l.acquired_at ? (l.expires_at - l.acquired_at) / 1000 : 0;
  const pct = span > 0 ? Math.max(0, Math.min(100, (left / span) * 100)) : 0;
  // Whole percents and only when changed: a second's tick on 1,000 rows writes little.
  const scale = `scaleX(${(Math.round(pct) / 100).toFixed(2)})`;
  if (cells.ttlBar.style.transform !== scale) cells.ttlBar.style.transform = scale;
  const low = left < 10;
  if (cells.ttl.classList.contains("low") !== low) cells.ttl.classList.toggle("low", low);
}

function placeLocks() {
  const names = [...state.locks.keys()].sort(byName);
  const body = $("lock-rows");
  names.forEach((name, i) => {
    const tr = lockRow(name).tr;
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  for (const [name, r] of lockRows) {
    if (!state.locks.has(name)) forgetLockRow(name, r);
  }
  const held = names.filter((n) => state.locks.get(n).holder).length;
  const waiting = names.reduce((n, k) => n + state.locks.get(k).waiters.length, 0);
  setText($("locks-count"), `(${held} held${waiting ? `, ${waiting} waiting` : ""})`);
  $("locks-empty").hidden = names.length > 0;
}

// ---------- tasks ----------
//
// A board per project. The snapshot brings every board; afterwards a task event (or an
// event that may change tasks: a session that ends hands its tasks back) makes the page
// re-read that project's board from /dashboard/tasks — one request per project at a time,
// events that arrive meanwhile fold into one more read. Boards are small next to the lock
// table (at most CARDS_SHOWN cards per column), so a board is redrawn whole.

const CARDS_SHOWN = 100;

/// Board columns in order: [key, heading, always shown].
const COLUMNS = [
  ["ready", "Ready to claim", true],
  ["waiting", "Waiting on dependencies", true],
  ["in-progress", "In progress", true],
  ["blocked", "Blocked", false],
  ["review", "In review", false],
  ["failed", "Failed", false],
  ["done", "Done", true],
  ["deferred", "Deferred", false],
  ["cancelled", "Cancelled", false],
];

const taskFetch = new Map(); // project -> { again }
const taskBoards = new Map(); // project -> section element
let runningCards = []; // { span, since } of cards in progress, for the tick

function columnOf(t) {
  if (t.status === "pending") return t.ready ? "ready" : "waiting";
  return t.status;
}

function setBoard(board) {
  noteServerTime(board.now_ms);
  // Sessions show the tasks they work on: re-render the assignees before and after.
  for (const b of [state.tasks.get(board.project), board]) {
    for (const t of (b && b.tasks) || []) if (t.assignee) dirty.sessions.add(t.assignee);
  }
  if (board.total > 0) state.tasks.set(board.project, board);
  else state.tasks.delete(board.project);
  dirty.tasks.add(board.project);
  schedule();
}

/// Re-reads one project's board (at most one request per project in flight).
async function refreshTasks(project) {
  if (!project) return;
  const running = taskFetch.get(project);
  if (running) {
    running.again = true;
    return;
  }
  const job = { again: true };
  taskFetch.set(project, job);
  try {
    while (job.again) {
      job.again = false;
      const generation = state.generation;
      const res = await fetch(`/dashboard/tasks?project=${encodeURIComponent(project)}`, { cache: "no-store" });
      if (!res.ok) break; // the next event (or the next snapshot) tries again
      const board = await res.json();
      if (generation === state.generation) setBoard(board);
    }
  } catch {
    // offline: the reconnect brings a fresh snapshot
  } finally {
    taskFetch.delete(project);
  }
}

/// What `session` works on from the task boards: "#3 Title" of its tasks in progress
/// (or in review, or blocked), with the project when it has tasks in several.
function boardTasksOf(session) {
  const out = [];
  const several = projectsOf(session).length > 1;
  for (const [p, b] of state.tasks) {
    for (const t of b.tasks) {
      if (t.assignee !== session || !["in-progress", "review", "blocked"].includes(t.status)) continue;
      const note = t.status === "in-progress" ? "" : ` (${t.status})`;
      out.push(`${several ? `${p} ` : ""}#${t.id} ${t.title}${note}`);
    }
  }
  return out;
}

/// Projects in which `session` has a task.
function projectsOf(session) {
  const out = [];
  for (const [p, b] of state.tasks) if (b.tasks.some((t) => t.assignee === session)) out.push(p);
  return out;
}

function markTasksOf(session) {
  for (const p of projectsOf(session)) dirty.tasks.add(p);
  schedule();
}

function taskRef(id, status) {
  return status ? `#${id} (${status})` : `#${id}`;
}

function taskCard(t, now) {
  const col = columnOf(t);
  const head = el("div", { class: "card-head" }, el("span", { class: "tid", text: `#${t.id}` }), " ", el("span", { class: "title", text: t.title }));
  const meta = [`${t.priority} priority`];
  if (t.role) meta.push(`role ${t.role}`);
  if (t.subtasks) meta.push(`subtasks ${t.subtasks_done}/${t.subtasks} done`);
  const li = el("li", { class: `card prio-${t.priority}`, "data-task": t.id, "data-column": col }, head, el("div", { class: "card-meta", text: meta.join(" · ") }));
  if (t.assignee) {
    const who = el("div", { class: "card-who" }, "assignee ", el("span", { class: "who", text: `${t.assignee} ` }), tierBadge(tierOf(t.assignee) || "ended"));
    if ((t.status === "in-progress" || t.status === "blocked") && t.claimed_at_ms) {
      const span = el("span", { class: "since" });
      runningCards.push({ span, since: t.claimed_at_ms });
      renderSince(span, t.claimed_at_ms, now);
      who.append(" · ", span);
    }
    li.append(who);
  }
  if (t.progress != null) {
    li.append(
      el(
        "div",
        { class: "card-progress" },
        el("progress", { max: "100", value: String(t.progress), "aria-label": `#${t.id}: ${t.progress}% done` }),
        ` ${t.progress}%`,
      ),
    );
  }
  if (t.waiting_on.length) {
    li.append(el("div", { class: "deps waits", text: `waits on ${t.waiting_on.map((w) => taskRef(w.id, w.status)).join(", ")}` }));
  }
  if (t.dependents.length && t.status !== "done" && t.status !== "cancelled") {
    li.append(el("div", { class: "deps blocks", text: `blocks ${t.dependents.map((d) => taskRef(d)).join(", ")}` }));
  }
  if (t.locks && t.locks.length) {
    li.append(el("div", { class: "held" }, el("span", { class: "held-label", text: "locks" }), ...t.locks.map((l) => el("code", { class: "chip", text: l }))));
  }
  if (t.note) li.append(el("div", { class: "card-note", text: t.note }));
  li.hidden = !matchesFilter([t.id, `#${t.id}`, t.title, t.assignee, t.role, ...(t.locks || [])]);
  return li;
}

function renderSince(span, since, now) {
  setText(span, `in progress for ${duration((now - since) / 1000)}`);
}

function countsText(b) {
  const c = b.counts;
  const parts = [`${b.total} task${b.total === 1 ? "" : "s"}`, `${b.ready.length} ready`];
  for (const [k, label] of [["in-progress", "in progress"], ["blocked", "blocked"], ["review", "in review"], ["failed", "failed"], ["done", "done"]]) {
    if (c[k]) parts.push(`${c[k]} ${label}`);
  }
  return `(${parts.join(", ")})`;
}

function renderBoard(project) {
  const b = state.tasks.get(project);
  let section = taskBoards.get(project);
  if (!b) {
    if (section) section.remove();
    taskBoards.delete(project);
    return;
  }
  if (!section) {
    section = el("section", { class: "board", "data-project": project, "aria-label": `Tasks of project ${project}` });
    taskBoards.set(project, section);
  }
  const now = serverNow();
  runningCards = runningCards.filter((r) => r.span.isConnected);
  const byColumn = new Map(COLUMNS.map(([k]) => [k, []]));
  for (const t of b.tasks) byColumn.get(columnOf(t))?.push(t);
  const columns = COLUMNS.filter(([k, , always]) => always || byColumn.get(k).length).map(([k, heading]) => {
    const cards = byColumn.get(k);
    const total = k === "ready" ? b.ready.length : k === "waiting" ? cards.length : b.counts[k] ?? cards.length;
    const list = el("ol", { class: "cards", "aria-label": `${heading}, project ${project}` }, ...cards.slice(0, CARDS_SHOWN).map((t) => taskCard(t, now)));
    const more = total - Math.min(cards.length, CARDS_SHOWN);
    return el(
      "div",
      { class: `column col-${k}`, "data-column": k },
      el("h4", null, heading, " ", el("span", { class: "count", text: `(${total})` })),
      list,
      more > 0 ? el("p", { class: "empty", text: k === "done" || k === "cancelled" ? `and ${more} older` : `and ${more} more` }) : null,
      cards.length === 0 ? el("p", { class: "empty", text: "none" }) : null,
    );
  });
  section.replaceChildren(
    el("h3", null, `Project ${project} `, el("span", { class: "count", text: countsText(b) })),
    el("div", { class: "columns" }, ...columns),
  );
}

function placeBoards() {
  const host = $("task-boards");
  const names = [...state.tasks.keys()].sort(byName);
  names.forEach((p, i) => {
    const s = taskBoards.get(p);
    if (s && host.children[i] !== s) host.insertBefore(s, host.children[i] || null);
  });
  let total = 0;
  let ready = 0;
  for (const b of state.tasks.values()) {
    total += b.total;
    ready += b.ready.length;
  }
  setText($("tasks-count"), names.length ? `(${names.length} project${names.length === 1 ? "" : "s"}, ${total} tasks, ${ready} ready)` : "");
  $("tasks-empty").hidden = names.length > 0;
}

function tickTasks(now) {
  for (const r of runningCards) if (r.span.isConnected) renderSince(r.span, r.since, now);
}

// ---------- daemon ----------

function renderDaemon() {
  const d = state.daemon;
  if (!d) return;
  const h = d.health;
  const counts = { active: 0, idle: 0, stale: 0, abandoned: 0 };
  for (const s of state.sessions.values()) if (!s.ended_at_ms) counts[s.tier || "active"] = (counts[s.tier || "active"] || 0) + 1;
  let held = 0;
  let waiting = 0;
  for (const l of state.locks.values()) {
    if (l.holder) held++;
    waiting += l.waiters.length;
  }
  const r = state.rates;
  const t = d.totals;
  // Rates need two readings (daemon_stats every few seconds); until then, totals alone.
  const perMin = (key) => (r ? `${t[key]} (${(r[key] * 60).toFixed(1)}/min)` : String(t[key]));
  const store = h.store;
  const rows = [
    ["Status", el("span", { class: h.status === "ok" ? "ok" : "bad", text: h.status })],
    ["Store", `${store.kind}, ${store.reachable ? `reachable (${store.round_trip_ms} ms)` : `unreachable: ${store.error || "?"}`}`],
    ["Version", h.version],
    ["Uptime", el("span", { id: "uptime", text: duration(h.uptime_seconds + (Date.now() - state.daemonAtMs) / 1000) })],
    ["Connections", `${h.connections.total} (SSE ${h.connections.sse}, Streamable HTTP ${h.connections.streamable_http})`],
    ["Sessions", `${counts.active} active · ${counts.idle} idle · ${counts.stale} stale · ${counts.abandoned} abandoned`],
    ["Locks", `${held} held · ${waiting} waiting`],
    ["Tool calls", r ? `${t.tool_calls} (${r.tool_calls.toFixed(2)}/s)` : String(t.tool_calls)],
    ["Lock grants", perMin("lock_grants")],
    ["Lock refusals", perMin("lock_refusals")],
    ["Takeovers", String(t.lock_takeovers)],
    ["Messages sent", perMin("messages_sent")],
    ["Messages read", String(t.messages_delivered)],
    ["Store errors", String(t.store_errors)],
    ["As of", `${clock(d.now_ms)} (health and counters every ${STATS_EVERY_S} s; sessions and locks live)`],
  ];
  $("daemon-facts").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", null, v)]));
  const th = d.thresholds;
  setText(
    $("tiers-legend"),
    `Tiers by time since last activity: active under ${duration(th.active_seconds)}, idle under ${duration(th.idle_seconds)}, stale under ${duration(th.stale_seconds)}, then abandoned (ended by the reaper, its locks freed).`,
  );
}

// ---------- filter ----------

function matchesFilter(values) {
  if (!state.filter) return true;
  return values.some((v) => typeof v === "string" && v.toLowerCase().includes(state.filter));
}

// ---------- the frame ----------

function flush() {
  frame = 0;
  heldIndex = null;
  const changed = dirty.locks.size > 0 || dirty.sessions.size > 0 || dirty.tree || dirty.lockOrder;
  // A lock change may change what its holder holds (the old holder is marked by the event).
  for (const name of dirty.locks) {
    renderLock(name);
    const l = state.locks.get(name);
    if (l && l.holder) dirty.sessions.add(l.holder);
  }
  if (dirty.lockOrder || dirty.locks.size) placeLocks();
  dirty.lockOrder = false;
  dirty.locks.clear();
  startFlashes();
  if (dirty.tree) {
    placeSessions();
    dirty.tree = false;
  }
  for (const name of dirty.sessions) renderSession(name);
  dirty.sessions.clear();
  if (dirty.tasks.size) {
    for (const p of dirty.tasks) renderBoard(p);
    placeBoards();
    dirty.tasks.clear();
  }
  if (dirty.daemon || changed) renderDaemon();
  dirty.daemon = false;
  if (dirty.activity === null || dirty.activity.length) renderActivity();
}

/// Rows and nodes on screen (or nearly): only they tick. Rewriting 1,000 countdowns every
/// second costs a layout of them all; the rest catch up as they scroll into view.
const onScreen = { locks: new Set(), sessions: new Set() };

function watcher(set, key, refresh) {
  if (!("IntersectionObserver" in window)) return null;
  return (root) =>
    new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          const name = e.target.dataset[key];
          if (e.isIntersecting) {
            set.add(name);
            refresh(name);
          } else {
            set.delete(name);
          }
        }
      },
      { root, rootMargin: "300px 0px" },
    );
}

let lockWatch = null;
let sessionWatch = null;

function watchLockRow(tr) {
  if (lockWatch === undefined) return;
  if (!lockWatch) {
    const make = watcher(onScreen.locks, "lock", (name) => {
      const l = state.locks.get(name);
      const r = lockRows.get(name);
      if (l && r) renderTtl(l, r.cells);
    });
    lockWatch = make ? make(document.querySelector(".table-wrap")) : undefined;
    if (!lockWatch) return;
  }
  lockWatch.observe(tr);
}

function watchSessionNode(li) {
  if (sessionWatch === undefined) return;
  if (!sessionWatch) {
    const make = watcher(onScreen.sessions, "session", (name) => {
      const s = state.sessions.get(name);
      const n = sessionNodes.get(name);
      if (s && n) renderSeen(s, n.parts);
    });
    sessionWatch = make ? make(null) : undefined;
    if (!sessionWatch) return;
  }
  sessionWatch.observe(li);
}

/// Once a second: countdowns, "last active", uptime; expired locks go away.
function tick() {
  const now = serverNow();
  for (const [name, l] of state.locks) {
    if (l.lock_delay_until) {
      // The delay note counts down; once it ends a free row with nobody waiting goes.
      if (l.lock_delay_until <= now) {
        l.lock_delay_until = undefined;
        l.reserved_for = undefined;
        dropLockIfIdle(name);
      }
      dirty.locks.add(name);
    }
    if (l.holder && l.expires_at && l.expires_at + 1000 < now) {
      // The store dropped it (a TTL runs out without an event).
      l.holder = null;
      l.token = null;
      l.expires_at = null;
      dropLockIfIdle(name);
      dirty.locks.add(name);
      continue;
    }
  }
  for (const name of onScreen.locks) {
    const l = state.locks.get(name);
    const r = lockRows.get(name);
    if (l && r && l.holder) renderTtl(l, r.cells);
  }
  for (const name of onScreen.sessions) {
    const s = state.sessions.get(name);
    const n = sessionNodes.get(name);
    if (s && n) renderSeen(s, n.parts);
  }
  tickTasks(now);
  const up = $("uptime");
  if (up && state.daemon && state.live) setText(up, duration(state.daemon.health.uptime_seconds + (Date.now() - state.daemonAtMs) / 1000));
  if (dirty.locks.size) {
    dirty.lockOrder = true;
    schedule();
  }
}

// ---------- connection ----------

const link = { attempt: 0, since: 0, controller: null, restart: false, loggedOut: false };

function setLink(kind, text) {
  $("link").dataset.state = kind;
  setText($("link-text"), text);
}

function showDisconnected() {
  state.live = false;
  $("main").classList.add("offline");
  if (!link.since) link.since = Date.now();
  const banner = $("banner");
  setText(
    banner,
    `Disconnected from the daemon at ${location.host} since ${timeFormat.format(new Date(link.since))} — reconnecting (attempt ${link.attempt})… What you see is as of then.`,
  );
  banner.hidden = false;
  setLink("down", "disconnected");
}

function showConnected() {
  const was = link.since;
  state.live = true;
  link.since = 0;
  link.attempt = 0;
  $("main").classList.remove("offline");
  $("banner").hidden = true;
  const d = state.daemon;
  setLink("live", d ? `live — mcp-coord ${d.health.version}, ${d.health.store.kind} store` : "live");
  if (was) setText($("announce"), "Reconnected to the daemon; the page is live again.");
}

/// Parses text/event-stream chunks into { event, data } objects.
function sseParser(onEvent) {
  let buf = "";
  let event = "";
  let data = [];
  return (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (data.length) onEvent({ event: event || "message", data: data.join("\n") });
        event = "";
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      } else if (line.startsWith("event:")) {
        event = line.slice(6).trim();
      }
    }
  };
}

/// A data route answered 401: the daemon wants a token (its sentence says why).
class LoginNeeded extends Error {}

async function refusal(res, what) {
  let message = `${what}: HTTP ${res.status}`;
  try {
    message = (await res.json()).message || message;
  } catch {
    // not JSON: keep the status
  }
  return res.status === 401 ? new LoginNeeded(message) : new Error(message);
}

async function loadSnapshot(signal) {
  const res = await fetch("/dashboard/state", { cache: "no-store", signal });
  if (!res.ok) throw await refusal(res, "snapshot");
  return res.json();
}

/// One connection: resolves when the stream ends, rejects when it fails.
async function runStream() {
  const controller = new AbortController();
  link.controller = controller;
  const res = await fetch(`/events?stats=${STATS_EVERY_S}`, {
    cache: "no-store",
    headers: { accept: "text/event-stream" },
    signal: controller.signal,
  });
  if (!res.ok) throw await refusal(res, "events");
  let buffer = []; // events that arrive while the snapshot loads
  let heard = Date.now();
  const watchdog = setInterval(() => {
    const quiet = (state.daemon ? state.daemon.keep_alive_seconds : 15) * 1000 * 2.5 + STATS_EVERY_S * 1000;
    if (Date.now() - heard > quiet) controller.abort();
  }, 1000);
  const parse = sseParser((msg) => {
    let e;
    try {
      e = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (msg.event === "ready") {
      state.offsetKnown = false; // the daemon may have restarted on another clock
      loadSnapshot(controller.signal)
        .then((snap) => {
          setViewer(snap.viewer); // first: the rows it rebuilds have admin buttons or not
          applySnapshot(snap);
          const seen = new Set(state.activity.map((i) => i.key));
          for (const b of buffer) if (!seen.has(JSON.stringify(b))) apply(b);
          buffer = null;
          showConnected();
        })
        .catch(() => controller.abort());
      return;
    }
    if (msg.event === "lagged") {
      // We missed events: start over with a fresh snapshot.
      controller.abort();
      return;
    }
    if (buffer) buffer.push(e);
    else apply(e);
  });
  try {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      heard = Date.now();
      parse(value);
    }
  } finally {
    clearInterval(watchdog);
  }
}

async function connectForever() {
  for (;;) {
    try {
      await runStream();
    } catch (e) {
      if (e instanceof LoginNeeded) {
        // A login that ended by itself (expiry, a daemon restart: logins live in its
        // memory) keeps the last view under the form; a logout, or a first visit, shows
        // nothing until a login.
        const keepView = !!state.daemon && !link.loggedOut;
        link.loggedOut = false;
        await askLogin(e.message, true, keepView);
        continue;
      }
      // fall through: reconnect
    }
    if (link.restart) {
      // We ended the stream ourselves (a login or logout): start over at once.
      link.restart = false;
      continue;
    }
    link.attempt++;
    showDisconnected();
    await new Promise((r) => setTimeout(r, Math.min(3000, 250 * 2 ** Math.min(link.attempt, 4))));
  }
}

// ---------- controls ----------

function setupControls() {
  for (const kind of Object.keys(KINDS)) {
    knownKinds.add(kind);
    $("act-kind").append(el("option", { value: kind, text: KINDS[kind] }));
  }
  const filter = $("filter");
  filter.addEventListener("input", () => {
    state.filter = filter.value.trim().toLowerCase();
    for (const name of state.sessions.keys()) dirty.sessions.add(name);
    for (const name of state.locks.keys()) dirty.locks.add(name);
    for (const p of state.tasks.keys()) dirty.tasks.add(p);
    schedule();
  });
  for (const id of ["act-kind", "act-session"]) {
    $(id).addEventListener("change", () => {
      dirty.activity = null;
      schedule();
    });
  }
  const themes = ["auto", "light", "dark"];
  const button = $("theme");
  const applyTheme = (t) => {
    if (t === "auto") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = t;
    setText(button, `Theme: ${t}`);
    button.setAttribute("aria-label", `Colour theme: ${t} (press to change)`);
  };
  let theme = localStorage.getItem("mcp-coord-theme") || "auto";
  if (!themes.includes(theme)) theme = "auto";
  applyTheme(theme);
  button.addEventListener("click", () => {
    theme = themes[(themes.indexOf(theme) + 1) % themes.length];
    localStorage.setItem("mcp-coord-theme", theme);
    applyTheme(theme);
  });
}

// ---------- login ----------
//
// With auth on, /dashboard/state and /events answer 401 until the viewer logs in: the token
// goes once to POST /login (JSON body, never a URL), which sets an HttpOnly cookie the
// browser sends from then on. Without auth the page works as "local" and "Log in" is there
// to act as an admin.

const login = { done: null };

function showPage(visible) {
  $("main").hidden = !visible;
}

/// Shows the login form; resolves once a login worked. `required`: the page cannot show
/// anything until then (no cancel).
function askLogin(why, required, keepView = false) {
  setText($("login-why"), why);
  setText($("login-error"), "");
  $("login").hidden = false;
  $("login-cancel").hidden = required;
  if (required) {
    showPage(keepView);
    setLink("down", keepView ? "login needed — the page shows what it saw before" : "login needed");
  }
  $("login-token").focus();
  return new Promise((resolve) => {
    login.done = resolve;
  });
}

function closeLogin() {
  $("login").hidden = true;
  $("login-token").value = "";
  showPage(true);
  const done = login.done;
  login.done = null;
  if (done) done();
}

async function submitLogin(ev) {
  ev.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) return;
  $("login-submit").disabled = true;
  try {
    const res = await fetch("/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
      cache: "no-store",
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      setText($("login-error"), body.message || `login failed: HTTP ${res.status}`);
      $("login-token").select();
      return;
    }
    setText($("announce"), `Logged in as ${body.role}.`);
    const wasLive = state.live;
    closeLogin();
    // A viewer who logs in while the page is live gets a fresh snapshot as the new role.
    if (wasLive) restartStream();
  } catch (e) {
    setText($("login-error"), `login failed: ${e.message}`);
  } finally {
    $("login-submit").disabled = false;
  }
}

async function logout() {
  await fetch("/logout", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => {});
  setText($("announce"), "Logged out.");
  link.loggedOut = true;
  restartStream();
}

function restartStream() {
  if (!link.controller) return;
  link.restart = true;
  link.controller.abort();
}

function setViewer(v) {
  state.viewer = v || { role: "agent", logged_in: false, auth_required: false };
  const who = state.viewer.token_id ? `${state.viewer.role} (${state.viewer.token_id})` : "local, no token";
  setText($("viewer"), `Viewing as ${who}${state.viewer.role === "admin" ? "" : " — read-only"}`);
  $("logout").hidden = !state.viewer.logged_in;
  $("login-open").hidden = state.viewer.logged_in || state.viewer.role === "admin";
  document.body.dataset.role = state.viewer.role;
}

function setupLogin() {
  $("login-form").addEventListener("submit", submitLogin);
  $("login-cancel").addEventListener("click", () => {
    $("login").hidden = true;
    login.done = null;
    $("login-open").focus();
  });
  $("login-open").addEventListener("click", () => {
    askLogin("Log in with a token to see the page as its role (an admin token shows the admin actions).", false);
  });
  $("logout").addEventListener("click", logout);
}

// ---------- admin actions ----------
//
// Only an admin's page has these buttons; the daemon checks the role again on every POST
// (403 otherwise). Each action opens a dialog first (Esc or Cancel backs out): destructive
// ones say what will happen before anything is sent.

function isAdmin() {
  return !!state.viewer && state.viewer.role === "admin";
}

function adminButton(action, target, text, label, danger) {
  return el("button", { type: "button", class: `admin-btn${danger ? " danger" : ""}`, "data-action": action, "data-target": target, "aria-label": label, text });
}

const ACTIONS = {
  release: (lock) => {
    const l = state.locks.get(lock);
    const delay = state.daemon ? state.daemon.lock_delay_seconds : 0;
    return {
      title: `Force-release ${lock}?`,
      text: `${l && l.holder ? l.holder : "Its holder"} loses it now and is told in its inbox; nobody gets it for ${delay} s (lock-delay), then the waiters in order.`,
      label: "Reason, for the holder (optional)",
      confirm: "Force release",
      path: "/dashboard/admin/release-lock",
      args: (reason) => ({ lock_name: lock, reason: reason || undefined }),
      done: (r) => r.message || `${lock} released`,
    };
  },
  end: (session) => ({
    title: `End session ${session}?`,
    text: `It is told in its inbox, then ended: its locks are released (lock-delay applies) and its tasks go back to pending.`,
    label: "Reason, for the session (optional)",
    confirm: "End session",
    path: "/dashboard/admin/end-session",
    args: (reason) => ({ session, reason: reason || undefined }),
    done: (r) => r.message || `${session} ended`,
  }),
  message: (session) => ({
    title: `Message to ${session}`,
    text: `Goes to ${session}'s inbox from "dashboard".`,
    label: "Message",
    required: true,
    confirm: "Send",
    path: "/dashboard/admin/send-message",
    args: (message) => ({ to: session, message }),
    done: () => `Message sent to ${session}`,
  }),
};

const dialog = { action: null, opener: null };

function openAction(kind, target, opener) {
  const a = ACTIONS[kind](target);
  dialog.action = a;
  dialog.opener = opener;
  setText($("admin-title"), a.title);
  setText($("admin-text"), a.text);
  setText($("admin-label"), a.label);
  setText($("admin-confirm"), a.confirm);
  setText($("admin-error"), "");
  $("admin-input").value = "";
  $("admin-input").required = !!a.required;
  $("admin-dialog").showModal();
  $("admin-input").focus();
}

function closeAction() {
  $("admin-dialog").close();
  dialog.action = null;
  if (dialog.opener && dialog.opener.isConnected) dialog.opener.focus();
}

async function postAdmin(path, args) {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(args), cache: "no-store" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
  return body;
}

async function submitAction(ev) {
  ev.preventDefault();
  const a = dialog.action;
  if (!a) return;
  const text = $("admin-input").value.trim();
  if (a.required && !text) return;
  $("admin-confirm").disabled = true;
  try {
    const r = await postAdmin(a.path, a.args(text));
    setText($("announce"), a.done(r));
    closeAction();
  } catch (e) {
    setText($("admin-error"), e.message);
  } finally {
    $("admin-confirm").disabled = false;
  }
}

async function readMessage(button) {
  const li = button.closest("li");
  button.disabled = true;
  let text;
  try {
    const res = await fetch(`/dashboard/admin/message?to=${encodeURIComponent(button.dataset.to)}&id=${encodeURIComponent(button.dataset.id)}`, { cache: "no-store" });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) text = body.message || `HTTP ${res.status}`;
    else text = body.message ? body.message.body : "No longer in the inbox: the recipient has read it (or it expired).";
  } catch (e) {
    text = e.message;
  }
  const old = li.querySelector(".body");
  if (old) old.remove();
  li.append(el("div", { class: "body", text }));
  button.remove();
}

function setupAdmin() {
  $("admin-form").addEventListener("submit", submitAction);
  $("admin-cancel").addEventListener("click", closeAction);
  $("admin-dialog").addEventListener("cancel", () => {
    dialog.action = null;
  });
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b) return;
    if (b.dataset.action === "read") readMessage(b);
    else openAction(b.dataset.action, b.dataset.target, b);
  });
}

setupControls();
setupLogin();
setupAdmin();
setInterval(tick, 1000);
connectForever();
