-- acquire: grant, re-enter, take over, or refuse (and queue the caller when it waits).
-- KEYS: 1 lock, 2 fence counter, 3 index zset, 4 names lex zset, 5 queue list,
--       6 lock-delay, 7 sessions last_seen zset, 8 caller's held set, 9 caller's notes hash,
--       10 caller's waiter key (unused when not waiting), 11 the epoch marker (guard.rs),
--       12 the live daemons zset (daemons.rs), 13.. ancestor lock keys
-- ARGV: 1 name, 2 caller, 3 ttl ms, 4 reason ('' = none), 5 force '1'/'0',
--       6 active ms, 7 idle ms, 8 stale ms, 9 lock-delay ms, 10 waiter id ('' = not waiting),
--       11 waiter ttl ms, 12 key prefix, 13 descendant prefix ('' = none), 14 events channel,
--       15 note ttl ms, 16 number of ancestors, 17 the epoch id the daemon knows,
--       18 this daemon's instance id, 19.. ancestor names (same order as KEYS 13..)
local lock_key, fence_key, index_key, names_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local queue_key, delay_key, last_seen, held_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local notes_key, waiter_key, epoch_key, daemons_key = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local name, caller, ttl, reason = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local force = ARGV[5] == '1'
local active, idle, stale = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local delay_ms, waiter, waiter_ttl = tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
local prefix, desc_prefix, note_ttl = ARGV[12], ARGV[13], tonumber(ARGV[15])
local n_anc, known_epoch, daemon = tonumber(ARGV[16]), ARGV[17], ARGV[18]
local now = now_ms()

-- A refusal; a waiting caller joins the queue (or keeps its place) and proves it is alive.
local function refuse(kind, extra)
  extra.outcome = 'refused'
  extra.refusal = kind
  extra.now_ms = now
  if waiter ~= '' then
    local pos = redis.call('LPOS', queue_key, waiter)
    if not pos then
      redis.call('RPUSH', queue_key, waiter)
      pos = redis.call('LLEN', queue_key) - 1
    end
    redis.call('SET', waiter_key, cjson.encode({ session = caller, lock = name, daemon = daemon }), 'PX', waiter_ttl)
    -- The queue lives as long as its longest-lived waiter entry: once no waiter renews (a
    -- crashed daemon's), the list goes too instead of staying behind forever.
    if redis.call('PTTL', queue_key) < waiter_ttl then redis.call('PEXPIRE', queue_key, waiter_ttl) end
    redis.call('ZADD', last_seen, now, caller)
    extra.queue_position = pos + 1
  end
  extra.queue_length = redis.call('LLEN', queue_key)
  return cjson.encode(extra)
end

local function leave_queue()
  if waiter ~= '' then
    redis.call('LREM', queue_key, 0, waiter)
    redis.call('DEL', waiter_key)
  end
end

-- 0. The data-loss guard: a vanished or replaced epoch marker means the data was lost
-- (the daemon then declares it, see guard.rs, and asks again); while a hold runs after a
-- loss, nothing is granted — somebody may still hold a lock this Redis forgot.
local guard = grant_guard(epoch_key, known_epoch, now)
if guard then
  if guard.outcome then return cjson.encode(guard) end
  return refuse(guard.refusal, { delay_until = guard.delay_until, hold_reason = guard.hold_reason })
end

-- 1-5 (common.lua, lock_decide): re-entrant, holder, ancestors and descendants,
-- lock-delay, FIFO.
local ancestors = {}
for i = 1, n_anc do ancestors[i] = { key = KEYS[12 + i], name = ARGV[18 + i] } end
local p = {
  lock_key = lock_key, fence_key = fence_key, queue_key = queue_key, delay_key = delay_key,
  index_key = index_key, names_key = names_key, last_seen = last_seen, held_key = held_key,
  notes_key = notes_key, daemons_key = daemons_key, name = name, caller = caller, ttl = ttl,
  reason = reason, force = force, active = active, idle = idle, stale = stale,
  delay_ms = delay_ms, waiter = waiter, prefix = prefix, desc_prefix = desc_prefix,
  note_ttl = note_ttl, daemon = daemon, ancestors = ancestors, now = now,
}
local decision, a, b = lock_decide(p)
if decision == 'refused' then return refuse(a, b) end
local result
if decision == 'reentrant' then
  result = lock_reenter(p, a)
else
  -- 6. Grant (common.lua, lock_grant). Tell the holders we took from.
  result = lock_grant(p, a, b)
end
leave_queue()
return cjson.encode(result)
