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

local function view(rec) return held_view(rec, last_seen, now, active, idle, stale) end

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
local epoch_id = redis.call('HGET', epoch_key, 'id')
if not epoch_id or epoch_id ~= known_epoch then
  return cjson.encode({ outcome = 'epoch_changed', now_ms = now })
end
local hold = tonumber(redis.call('HGET', epoch_key, 'hold_until') or '0') or 0
if hold > now then
  return refuse('store_recovering', {
    delay_until = hold, hold_reason = redis.call('HGET', epoch_key, 'hold_reason') or ''
  })
end

-- 1. Re-entrant: the caller holds it. Extend (never shorten), keep the token.
local cur = read_json(lock_key)
if cur and cur.holder == caller then
  if now + ttl > cur.expires_at then cur.expires_at = now + ttl end
  if reason ~= '' then cur.reason = reason end
  redis.call('SET', lock_key, cjson.encode(cur), 'PX', cur.expires_at - now)
  redis.call('ZADD', index_key, cur.expires_at, name)
  redis.call('ZADD', names_key, 0, name)
  redis.call('SADD', held_key, name)
  redis.call('ZADD', last_seen, now, caller)
  leave_queue()
  return cjson.encode({ outcome = 'granted', lock = cur, reentrant = true, now_ms = now })
end

-- A holder other than the caller: may the caller take its lock?
-- Dead (absent from the index, or abandoned) always; stale only with force.
local function may_take(rec)
  local v = view(rec)
  if v.tier == nil or v.tier == 'abandoned' then return v end
  if v.tier == 'stale' and force then return v end
  return nil, v
end

-- 2. This lock's holder.
local takeover = nil
if cur then
  local ok, blocked = may_take(cur)
  if not ok then return refuse('held', { holder = blocked }) end
  takeover = ok
end

-- 3. Ancestors and descendants held by others.
local related = {}
local function consider(rname, rec)
  if rec.holder == caller then return nil end
  local ok, blocked = may_take(rec)
  if not ok then return refuse('related', { holder = blocked, related_lock = rname }) end
  related[#related + 1] = ok
  return nil
end
for i = 1, n_anc do
  local rec = read_json(KEYS[12 + i])
  if rec then
    local r = consider(ARGV[18 + i], rec)
    if r then return r end
  end
end
if desc_prefix ~= '' then
  local hi = string.sub(desc_prefix, 1, -2) .. string.char(string.byte(desc_prefix, -1) + 1)
  for _, rname in ipairs(redis.call('ZRANGEBYLEX', names_key, '[' .. desc_prefix, '(' .. hi)) do
    local rec = read_json(prefix .. 'locks:' .. rname)
    if rec then
      local r = consider(rname, rec)
      if r then return r end
    else
      -- expired by PX: prune the index entries lazily
      redis.call('ZREM', names_key, rname)
      redis.call('ZREM', index_key, rname)
    end
  end
end

-- 4. A lock-delay after a takeover reserves the lock for the session that took it.
local delay = read_json(delay_key)
if delay and delay.reserved_for ~= caller then
  return refuse('lock_delay', { delay_until = delay['until'], reserved_for = delay.reserved_for })
end

-- 5. FIFO: only the head of the queue may be granted. Dead heads (waiter key expired, its
-- daemon gone from the registry, or its session ended/abandoned) are removed first: waiters
-- are re-validated here, at grant.
while true do
  local head = redis.call('LINDEX', queue_key, 0)
  if not head or head == waiter then break end
  local w = read_json(prefix .. 'locks:waiter:' .. head)
  if w and not waiter_daemon_alive(daemons_key, w, daemon, now) then w = nil end
  if w then
    local age = session_age(last_seen, w.session, now)
    if age ~= nil and age < stale then break end
  end
  redis.call('LPOP', queue_key)
  redis.call('DEL', prefix .. 'locks:waiter:' .. head)
end
local head = redis.call('LINDEX', queue_key, 0)
if head and head ~= waiter then return refuse('queued', {}) end

-- 6. Grant. Tell the holders we took from.
-- The token embeds the clock (next_fencing_token in src/store/locks.rs): never below
-- now_ms * 32, so a Redis that lost its counters still grants above every earlier token.
-- It stays below 10^14, which tostring and cjson (14 significant digits) print exactly.
local last = tonumber(redis.call('GET', fence_key) or '0') or 0
local token = math.max(last + 1, now * 32)
redis.call('SET', fence_key, string.format('%d', token))
local function take(v)
  drop_lock(prefix, index_key, names_key, v.lock.name, v.lock)
  local note = { lock = v.lock.name, by = caller, at = now, old_token = v.lock.token, your_tier = v.tier }
  local nkey = prefix .. 'locks:notes:' .. v.lock.holder
  redis.call('HSET', nkey, v.lock.name, cjson.encode(note))
  redis.call('PEXPIRE', nkey, note_ttl)
end
if takeover then take(takeover) end
for _, v in ipairs(related) do take(v) end

local rec = { name = name, holder = caller, token = token, acquired_at = now, expires_at = now + ttl }
if reason ~= '' then rec.reason = reason end
redis.call('SET', lock_key, cjson.encode(rec), 'PX', ttl)
redis.call('ZADD', index_key, rec.expires_at, name)
redis.call('ZADD', names_key, 0, name)
redis.call('SADD', held_key, name)
redis.call('ZADD', last_seen, now, caller)
redis.call('HDEL', notes_key, name)
leave_queue()

local result = { outcome = 'granted', lock = rec, reentrant = false, now_ms = now }
if takeover or #related > 0 then
  result.taken_over_from = takeover
  if #related > 0 then result.released_related = related end
  if delay_ms > 0 then
    result.delay_until = now + delay_ms
    redis.call('SET', delay_key, cjson.encode({ reserved_for = caller, ['until'] = now + delay_ms }), 'PX', delay_ms)
  end
end
return cjson.encode(result)
