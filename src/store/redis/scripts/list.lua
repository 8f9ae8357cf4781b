-- list: every held lock, read from the index (never KEYS/SCAN); entries whose key has
-- expired are pruned on the way.
-- KEYS: 1 index zset, 2 names lex zset, 3 sessions last_seen zset
-- ARGV: 1 key prefix, 2 active ms, 3 idle ms, 4 stale ms
local index_key, names_key, last_seen = KEYS[1], KEYS[2], KEYS[3]
local prefix = ARGV[1]
local active, idle, stale = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()

local locks = {}
for _, name in ipairs(redis.call('ZRANGE', index_key, 0, -1)) do
  local rec = read_json(prefix .. 'locks:' .. name)
  if rec then
    locks[#locks + 1] = held_view(rec, last_seen, now, active, idle, stale)
  else
    redis.call('ZREM', index_key, name)
    redis.call('ZREM', names_key, name)
  end
end
return cjson.encode({ locks = locks, now_ms = now })
