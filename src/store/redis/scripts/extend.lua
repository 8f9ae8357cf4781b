-- extend: the holder only; the new expiry is now + ttl (the caller is active: touch it).
-- KEYS: 1 lock, 2 index zset, 3 sessions last_seen zset
-- ARGV: 1 name, 2 caller, 3 ttl ms, 4 key prefix, 5 active ms, 6 idle ms, 7 stale ms
local lock_key, index_key, last_seen = KEYS[1], KEYS[2], KEYS[3]
local name, caller, ttl, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local active, idle, stale = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()

local cur, refusal = own_lock(lock_key, name, caller, prefix, last_seen, now, active, idle, stale)
if refusal then return refusal end
cur.expires_at = now + ttl
redis.call('SET', lock_key, cjson.encode(cur), 'PX', ttl)
redis.call('ZADD', index_key, cur.expires_at, name)
redis.call('ZADD', last_seen, now, caller)
return cjson.encode({ outcome = 'extended', lock = cur, now_ms = now })
