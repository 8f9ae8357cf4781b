-- Helpers prepended to every lock script (the Rust side concatenates this file with the
-- script, so these locals are in scope; Redis forbids globals). `tier_of(age, active, idle,
-- stale)` comes before this file: it is generated from the one tier rule in
-- src/domain/tiers.rs (store/redis/locks.rs, lua_tier_of). Keys built here from the
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
