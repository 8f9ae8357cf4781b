-- epoch: the data-loss guard's marker (src/store/redis/guard.rs). The marker hash
-- {prefix}store:epoch is written once per generation of this Redis's data; if it vanished
-- (Redis restarted without persistence, flushed, restored from a backup taken before it
-- existed) or is not the one the calling daemon knew, the data was lost: grants are held
-- back until every lock granted before can have expired.
-- KEYS: 1 marker. ARGV: 1 id the daemon knows ('' = none yet), 2 hold ms, 3 reason if
-- lost, 4 id for a new marker.
local key, known, hold_ms, reason, fresh_id = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now = now_ms()
local id = redis.call('HGET', key, 'id')
local created = false
local lost = false
if not id then
  id = fresh_id
  created = true
  redis.call('HSET', key, 'id', id, 'created_at_ms', string.format('%d', now))
  lost = known ~= ''
elseif known ~= '' and id ~= known then
  lost = true
end
if lost then
  local until_ms = now + hold_ms
  local cur = tonumber(redis.call('HGET', key, 'hold_until') or '0') or 0
  if until_ms > cur then
    redis.call('HSET', key, 'hold_until', string.format('%d', until_ms), 'hold_since',
      string.format('%d', now), 'hold_reason', reason)
  end
end
local f = redis.call('HMGET', key, 'id', 'hold_until', 'hold_since', 'hold_reason')
return cjson.encode({
  id = f[1], hold_until = tonumber(f[2] or '0') or 0, hold_since = tonumber(f[3] or '0') or 0,
  hold_reason = f[4] or '', created = created, lost = lost, now_ms = now
})
