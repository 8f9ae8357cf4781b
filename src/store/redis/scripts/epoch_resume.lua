-- epoch_resume: an admin ends the data-loss hold early (src/store/redis/guard.rs).
-- KEYS: 1 marker. ARGV: 1 who. Returns the hold that was running ({} if none).
local key, who = KEYS[1], ARGV[1]
local now = now_ms()
local f = redis.call('HMGET', key, 'hold_until', 'hold_since', 'hold_reason')
local hold = tonumber(f[1] or '0') or 0
if redis.call('EXISTS', key) == 0 or hold <= now then
  return cjson.encode({ running = false, now_ms = now })
end
redis.call('HSET', key, 'hold_until', '0', 'resumed_by', who, 'resumed_at', string.format('%d', now))
return cjson.encode({
  running = true, hold_until = hold, hold_since = tonumber(f[2] or '0') or 0,
  hold_reason = f[3] or '', now_ms = now
})
