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
