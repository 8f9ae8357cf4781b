-- force_release: an admin frees a lock whoever holds it. The holder gets a note (forced),
-- a lock-delay reserved for nobody keeps everyone off it for a while (as after a takeover:
-- a holder that is still running has time to notice), and waiters are woken (they are
-- granted, in queue order, once the delay ends).
-- KEYS: 1 lock, 2 index zset, 3 names lex zset, 4 sessions last_seen zset, 5 lock-delay
-- ARGV: 1 name, 2 by, 3 key prefix, 4 events channel, 5 active ms, 6 idle ms, 7 stale ms,
--       8 lock-delay ms, 9 note ttl ms
local lock_key, index_key, names_key, last_seen, delay_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local name, by, prefix, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local active, idle, stale = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local delay_ms, note_ttl = tonumber(ARGV[8]), tonumber(ARGV[9])
local now = now_ms()

local cur = read_json(lock_key)
if not cur then return cjson.encode({ outcome = 'not_held', now_ms = now }) end
local from = held_view(cur, last_seen, now, active, idle, stale)
drop_lock(prefix, index_key, names_key, name, cur)
local note = { lock = name, by = by, at = now, old_token = cur.token, your_tier = from.tier, forced = true }
local nkey = prefix .. 'locks:notes:' .. cur.holder
redis.call('HSET', nkey, name, cjson.encode(note))
redis.call('PEXPIRE', nkey, note_ttl)
local result = { outcome = 'released', from = from, now_ms = now }
if delay_ms > 0 then
  result.delay_until = now + delay_ms
  redis.call('SET', delay_key, cjson.encode({ ['until'] = now + delay_ms }), 'PX', delay_ms)
end
redis.call('PUBLISH', channel, name)
return cjson.encode(result)
