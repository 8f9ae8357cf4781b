-- Implicit heartbeat of a live session: one ZADD plus the seed's heartbeat key.
-- KEYS[1] sessions:last_seen   KEYS[2] heartbeat:{name}
-- ARGV[1] name   ARGV[2] heartbeat TTL (ms)
-- Returns {now} when the session is not live (nothing changed), else {now, previous}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not prev then
  return {tostring(now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('SET', KEYS[2], now, 'PX', ARGV[2])
return {tostring(now), prev}
