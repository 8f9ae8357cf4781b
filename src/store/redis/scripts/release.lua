-- release: the holder only. Wakes waiters.
-- KEYS: 1 lock, 2 index zset, 3 names lex zset, 4 sessions last_seen zset
-- ARGV: 1 name, 2 caller, 3 key prefix, 4 events channel, 5 active ms, 6 idle ms, 7 stale ms
local lock_key, index_key, names_key, last_seen = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local name, caller, prefix, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local active, idle, stale = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()

local cur, refusal = own_lock(lock_key, name, caller, prefix, last_seen, now, active, idle, stale)
if refusal then
  -- Not held (expired): drop it from the caller's held set if it lingers there.
  if not cur then redis.call('SREM', prefix .. 'locks:held:' .. caller, name) end
  return refusal
end
drop_lock(prefix, index_key, names_key, name, cur)
redis.call('PUBLISH', channel, name)
return cjson.encode({ outcome = 'released', lock = cur, now_ms = now })
