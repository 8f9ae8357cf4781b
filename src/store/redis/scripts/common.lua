-- Helpers prepended to every script (the Rust side, store/redis/lua.rs, concatenates this
-- file with the script, so these locals are in scope; Redis forbids globals). `tier_of(age,
-- active, idle, stale)` comes before this file: it is generated from the one tier rule in
-- src/domain/tiers.rs (store/redis/lua.rs, lua_tier_of). Keys built here from the
-- prefix must match src/store/redis/keys.rs: {prefix}locks:{name}, {prefix}locks:held:{session},
-- {prefix}locks:notes:{session}, {prefix}locks:waiter:{id}.

-- The one clock for every daemon sharing this Redis.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Age (ms) of a session's last activity, or nil when it is not in the live-session index.
local function session_age(last_seen_key, session, now)
  local score = redis.call('ZSCORE', last_seen_key, session)
  if not score then return nil end
  return now - tonumber(score)
end

local function read_json(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Is the daemon serving waiter `w` alive? Its instance id must hold a lease in the daemon
-- registry (src/store/redis/daemons.rs); the calling daemon `own` is alive by definition,
-- and entries written before waiters named their daemon are judged by their TTL only.
local function waiter_daemon_alive(daemons_key, w, own, now)
  if w.daemon == nil or w.daemon == own then return true end
  local lease = redis.call('ZSCORE', daemons_key, w.daemon)
  if not lease then return false end
  return tonumber(lease) > now
end

-- The waiters of a queue that still count, first in line first: their entry has not
-- expired and their daemon is alive (read-only; acquire prunes the others).
local function live_waiters(prefix, daemons_key, queue_key, own, now)
  local live = {}
  for _, id in ipairs(redis.call('LRANGE', queue_key, 0, -1)) do
    local w = read_json(prefix .. 'locks:waiter:' .. id)
    if w and waiter_daemon_alive(daemons_key, w, own, now) then live[#live + 1] = w end
  end
  return live
end

-- A lock with its holder's liveness, as the Rust `HeldLock`.
local function held_view(rec, last_seen_key, now, active, idle, stale)
  local age = session_age(last_seen_key, rec.holder, now)
  return { lock = rec, holder_age_ms = age, tier = tier_of(age, active, idle, stale) }
end

-- Removes a lock and its index entries.
local function drop_lock(prefix, index_key, names_key, name, rec)
  redis.call('DEL', prefix .. 'locks:' .. name)
  redis.call('ZREM', index_key, name)
  redis.call('ZREM', names_key, name)
  if rec then redis.call('SREM', prefix .. 'locks:held:' .. rec.holder, name) end
end

local function note_for(prefix, session, name)
  local raw = redis.call('HGET', prefix .. 'locks:notes:' .. session, name)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- The caller's own lock: the record and nil when `caller` holds `name`; otherwise the lock
-- (nil when nobody holds it) and the answer to give, `not_held` or `not_owner` (with the
-- caller's takeover note, if any). Used by the holder-only scripts (release, extend).
local function own_lock(lock_key, name, caller, prefix, last_seen_key, now, active, idle, stale)
  local cur = read_json(lock_key)
  if not cur then
    return nil, cjson.encode({ outcome = 'not_held', note = note_for(prefix, caller, name),
      now_ms = now })
  end
  if cur.holder ~= caller then
    return cur, cjson.encode({ outcome = 'not_owner', now_ms = now,
      holder = held_view(cur, last_seen_key, now, active, idle, stale),
      note = note_for(prefix, caller, name) })
  end
  return cur, nil
end

-- A stored JSON object, or nil when `raw` is missing (false) or not an object.
local function decode_object(raw)
  if not raw then return nil end
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then return v end
  return nil
end

-- Session writes that need the record unchanged and the session live: its `last_seen`
-- score when the record at `record_key` is still at revision `rev` (a string) and `name`
-- is in the live index; otherwise nil and the answer, {'changed'} or {'not_live'}.
local function live_at_rev(record_key, last_seen_key, name, rev)
  local rec = decode_object(redis.call('GET', record_key))
  if not rec or tostring(rec.rev or 0) ~= rev then return nil, {'changed'} end
  local score = redis.call('ZSCORE', last_seen_key, name)
  if not score then return nil, {'not_live'} end
  return score, nil
end

-- Inbox streams (inbox:{session}): XRANGE entries are {id, {field, value, ...}}, ids
-- '<ms>-<seq>', fields `m` (message JSON) and `ttl` (ms, absent = none).
local function parse_stream_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if not ms then return nil end
  return tonumber(ms), tonumber(seq)
end

local function stream_field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

-- One inbox entry as the scripts hand it out: raw message JSON, ttl ('' = none), and
-- whether it has expired by `now` (its id's ms + ttl).
local function inbox_entry(id, fields, now)
  local raw = stream_field(fields, 'm') or ''
  local ttl = stream_field(fields, 'ttl') or ''
  local ms = parse_stream_id(id) or 0
  return raw, ttl, ttl ~= '' and ms + tonumber(ttl) <= now
end

-- Lock decisions, shared by acquire.lua and every script that grants locks (task_claim.lua
-- takes locks together with a task). `p` describes one lock request:
--   keys: lock_key, fence_key, queue_key, delay_key, index_key, names_key, last_seen,
--         held_key, notes_key, daemons_key;
--   values: name, caller, ttl, reason ('' = none), force, active, idle, stale, delay_ms,
--         waiter ('' = not waiting), prefix, desc_prefix ('' = none), note_ttl, daemon,
--         ancestors = { {key =, name =}, … }, now.

-- Step 0 of every grant, the data-loss guard (guard.rs): nil when grants may go on; else
-- { outcome = 'epoch_changed' } (the daemon declares the loss and asks again) or
-- { refusal = 'store_recovering', … } while a hold after a loss runs.
local function grant_guard(epoch_key, known_epoch, now)
  local epoch_id = redis.call('HGET', epoch_key, 'id')
  if not epoch_id or epoch_id ~= known_epoch then
    return { outcome = 'epoch_changed', now_ms = now }
  end
  local hold = tonumber(redis.call('HGET', epoch_key, 'hold_until') or '0') or 0
  if hold > now then
    return { refusal = 'store_recovering', delay_until = hold,
      hold_reason = redis.call('HGET', epoch_key, 'hold_reason') or '' }
  end
  return nil
end

-- Steps 1-5 of acquire: 'reentrant', cur | 'refused', kind, extra | 'grant', takeover,
-- related. Writes only housekeeping (expired index entries, dead queue heads).
local function lock_decide(p)
  local now = p.now
  local function view(rec) return held_view(rec, p.last_seen, now, p.active, p.idle, p.stale) end
  -- 1. Re-entrant: the caller holds it.
  local cur = read_json(p.lock_key)
  if cur and cur.holder == p.caller then return 'reentrant', cur end
  -- A holder other than the caller: may the caller take its lock?
  -- Dead (absent from the index, or abandoned) always; stale only with force.
  local function may_take(rec)
    local v = view(rec)
    if v.tier == nil or v.tier == 'abandoned' then return v end
    if v.tier == 'stale' and p.force then return v end
    return nil, v
  end
  -- 2. This lock's holder.
  local takeover = nil
  if cur then
    local ok, blocked = may_take(cur)
    if not ok then return 'refused', 'held', { holder = blocked } end
    takeover = ok
  end
  -- 3. Ancestors and descendants held by others.
  local related = {}
  local function consider(rname, rec)
    if rec.holder == p.caller then return nil end
    local ok, blocked = may_take(rec)
    if not ok then return { holder = blocked, related_lock = rname } end
    related[#related + 1] = ok
    return nil
  end
  for _, a in ipairs(p.ancestors) do
    local rec = read_json(a.key)
    if rec then
      local r = consider(a.name, rec)
      if r then return 'refused', 'related', r end
    end
  end
  if p.desc_prefix ~= '' then
    local dp = p.desc_prefix
    local hi = string.sub(dp, 1, -2) .. string.char(string.byte(dp, -1) + 1)
    for _, rname in ipairs(redis.call('ZRANGEBYLEX', p.names_key, '[' .. dp, '(' .. hi)) do
      local rec = read_json(p.prefix .. 'locks:' .. rname)
      if rec then
        local r = consider(rname, rec)
        if r then return 'refused', 'related', r end
      else
        -- expired by PX: prune the index entries lazily
        redis.call('ZREM', p.names_key, rname)
        redis.call('ZREM', p.index_key, rname)
      end
    end
  end
  -- 4. A lock-delay after a takeover reserves the lock for the session that took it.
  local delay = read_json(p.delay_key)
  if delay and delay.reserved_for ~= p.caller then
    return 'refused', 'lock_delay', { delay_until = delay['until'], reserved_for = delay.reserved_for }
  end
  -- 5. FIFO: only the head of the queue may be granted. Dead heads (waiter key expired, its
  -- daemon gone from the registry, or its session ended/abandoned) are removed first:
  -- waiters are re-validated here, at grant.
  while true do
    local head = redis.call('LINDEX', p.queue_key, 0)
    if not head or head == p.waiter then break end
    local w = read_json(p.prefix .. 'locks:waiter:' .. head)
    if w and not waiter_daemon_alive(p.daemons_key, w, p.daemon, now) then w = nil end
    if w then
      local age = session_age(p.last_seen, w.session, now)
      if age ~= nil and age < p.stale then break end
    end
    redis.call('LPOP', p.queue_key)
    redis.call('DEL', p.prefix .. 'locks:waiter:' .. head)
  end
  local head = redis.call('LINDEX', p.queue_key, 0)
  if head and head ~= p.waiter then return 'refused', 'queued', {} end
  return 'grant', takeover, related
end

-- Step 1's write: the caller holds it already. Extend (never shorten), keep the token.
local function lock_reenter(p, cur)
  local now = p.now
  if now + p.ttl > cur.expires_at then cur.expires_at = now + p.ttl end
  if p.reason ~= '' then cur.reason = p.reason end
  redis.call('SET', p.lock_key, cjson.encode(cur), 'PX', cur.expires_at - now)
  redis.call('ZADD', p.index_key, cur.expires_at, p.name)
  redis.call('ZADD', p.names_key, 0, p.name)
  redis.call('SADD', p.held_key, p.name)
  redis.call('ZADD', p.last_seen, now, p.caller)
  return { outcome = 'granted', lock = cur, reentrant = true, now_ms = now }
end

-- Step 6: the grant. Tells the holders taken from; returns acquire's answer.
-- The token embeds the clock (next_fencing_token in src/store/locks.rs): never below
-- now_ms * 32, so a Redis that lost its counters still grants above every earlier token.
-- It stays below 10^14, which tostring and cjson (14 significant digits) print exactly.
local function lock_grant(p, takeover, related)
  local now = p.now
  local last = tonumber(redis.call('GET', p.fence_key) or '0') or 0
  local token = math.max(last + 1, now * 32)
  redis.call('SET', p.fence_key, string.format('%d', token))
  local function take(v)
    drop_lock(p.prefix, p.index_key, p.names_key, v.lock.name, v.lock)
    local note = { lock = v.lock.name, by = p.caller, at = now, old_token = v.lock.token, your_tier = v.tier }
    local nkey = p.prefix .. 'locks:notes:' .. v.lock.holder
    redis.call('HSET', nkey, v.lock.name, cjson.encode(note))
    redis.call('PEXPIRE', nkey, p.note_ttl)
  end
  if takeover then take(takeover) end
  for _, v in ipairs(related) do take(v) end

  local rec = { name = p.name, holder = p.caller, token = token, acquired_at = now, expires_at = now + p.ttl }
  if p.reason ~= '' then rec.reason = p.reason end
  redis.call('SET', p.lock_key, cjson.encode(rec), 'PX', p.ttl)
  redis.call('ZADD', p.index_key, rec.expires_at, p.name)
  redis.call('ZADD', p.names_key, 0, p.name)
  redis.call('SADD', p.held_key, p.name)
  redis.call('ZADD', p.last_seen, now, p.caller)
  redis.call('HDEL', p.notes_key, p.name)

  local result = { outcome = 'granted', lock = rec, reentrant = false, now_ms = now }
  if takeover or #related > 0 then
    result.taken_over_from = takeover
    if #related > 0 then result.released_related = related end
    if p.delay_ms > 0 then
      result.delay_until = now + p.delay_ms
      redis.call('SET', p.delay_key, cjson.encode({ reserved_for = p.caller, ['until'] = now + p.delay_ms }), 'PX', p.delay_ms)
    end
  end
  return result
end
