-- task_claim: the highest-priority ready task (for a role, or any), or one named task,
-- becomes in-progress with the claimer as its assignee — together with the locks the
-- claimer names, all or nothing: the same lock decision as acquire.lua (common.lua's
-- grant_guard, lock_decide, lock_grant), without queueing.
-- KEYS: 1 spec hash, 2 state hash, 3 ready zset, 4 the claimer's task_holds set,
--       5 the epoch marker, 6 lock index zset, 7 lock names zset, 8 sessions last_seen,
--       9 live daemons zset, 10 the claimer's locks:held set, 11 the claimer's notes hash
-- ARGV: 1 claimer, 2 role ('' = any), 3 task id ('' = the best ready one), 4 project,
--       5 locks JSON ('' = none: [{name, ttl, reason, force, delay_ms, desc_prefix,
--       ancestors}]), 6 the epoch id the daemon knows, 7 this daemon's instance id,
--       8 key prefix, 9 active ms, 10 idle ms, 11 stale ms, 12 note ttl ms
local spec_key, state_key, ready_key, holds = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local session, role, task_id, project = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local locks_json, known_epoch, daemon, prefix = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local active, idle, stale, note_ttl = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local now = now_ms()

-- The task to take: its id and state, or nil and the answer.
local function pick()
  if task_id ~= '' then
    local st = task_state(state_key, task_id)
    if not st then return nil, nil, cjson.encode({ outcome = 'not_found' }) end
    if st.status ~= 'pending' then
      return nil, nil, cjson.encode({ outcome = 'not_pending', status = st.status, assignee = st.assignee })
    end
    local w = waiting_on(state_key, st)
    if #w > 0 then return nil, nil, cjson.encode({ outcome = 'not_ready', waiting_on = w }) end
    return task_id, st
  end
  -- The ready zset is in claim order; entries that are no longer ready are dropped.
  local from, page = 0, 64
  while true do
    local ids = redis.call('ZRANGE', ready_key, from, from + page - 1)
    if #ids == 0 then break end
    local dropped = 0
    for _, id in ipairs(ids) do
      local st = task_state(state_key, id)
      if st and is_ready(state_key, st) then
        if role_fits(st.role, role) then return id, st end
      else
        redis.call('ZREM', ready_key, id)
        dropped = dropped + 1
      end
    end
    from = from + page - dropped
  end
  return nil, nil, cjson.encode({ outcome = 'nothing_ready' })
end

local id, st, answer = pick()
if not id then return answer end

-- The locks: every one decided before any is granted.
local grants, names = {}, {}
if locks_json ~= '' then
  local wanted = cjson.decode(locks_json)
  local guard = grant_guard(KEYS[5], known_epoch, now)
  if guard then
    if guard.outcome then return cjson.encode(guard) end
    return cjson.encode({ outcome = 'locks_refused', lock = wanted[1].name, refused = {
      refusal = guard.refusal, delay_until = guard.delay_until, hold_reason = guard.hold_reason,
      queue_length = 0, now_ms = now } })
  end
  local decided = {}
  for i, l in ipairs(wanted) do
    local ancestors = {}
    for j, a in ipairs(l.ancestors) do ancestors[j] = { key = prefix .. 'locks:' .. a, name = a } end
    local p = {
      lock_key = prefix .. 'locks:' .. l.name, fence_key = prefix .. 'locks:fence:' .. l.name,
      queue_key = prefix .. 'locks:queue:' .. l.name, delay_key = prefix .. 'locks:delay:' .. l.name,
      index_key = KEYS[6], names_key = KEYS[7], last_seen = KEYS[8], daemons_key = KEYS[9],
      held_key = KEYS[10], notes_key = KEYS[11], name = l.name, caller = session, ttl = l.ttl,
      reason = l.reason, force = l.force, active = active, idle = idle, stale = stale,
      delay_ms = l.delay_ms, waiter = '', prefix = prefix, desc_prefix = l.desc_prefix,
      note_ttl = note_ttl, daemon = daemon, ancestors = ancestors, now = now,
    }
    local decision, a, b = lock_decide(p)
    if decision == 'refused' then
      b.refusal = a
      b.now_ms = now
      b.queue_length = redis.call('LLEN', p.queue_key)
      return cjson.encode({ outcome = 'locks_refused', lock = l.name, refused = b })
    end
    decided[i] = { p = p, decision = decision, a = a, b = b }
  end
  for i, d in ipairs(decided) do
    if d.decision == 'reentrant' then
      grants[i] = lock_reenter(d.p, d.a)
    else
      grants[i] = lock_grant(d.p, d.a, d.b)
    end
    names[i] = d.p.name
  end
end

st.status = 'in-progress'
st.assignee = session
st.claimed_at_ms = now
st.progress = nil
st.locks = names
st.updated_at_ms = now
redis.call('HSET', state_key, id, cjson.encode(st))
redis.call('ZREM', ready_key, id)
redis.call('SADD', holds, project .. ':' .. id)
return cjson.encode({ outcome = 'claimed', id = id, state = st,
  spec = redis.call('HGET', spec_key, id), grants = grants })
