-- check: read-only view of one lock, its queue and lock-delay, and the caller's takeover note.
-- KEYS: 1 lock, 2 queue list, 3 lock-delay, 4 sessions last_seen zset, 5 live daemons zset
-- ARGV: 1 name, 2 caller, 3 key prefix, 4 active ms, 5 idle ms, 6 stale ms,
--       7 this daemon's instance id
local lock_key, queue_key, delay_key, last_seen = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local daemons_key = KEYS[5]
local name, caller, prefix = ARGV[1], ARGV[2], ARGV[3]
local active, idle, stale = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local own = ARGV[7]
local now = now_ms()

-- Waiters that still count: a crashed daemon's (expired, or its daemon gone) do not.
local result = {
  now_ms = now, waiters = #live_waiters(prefix, daemons_key, queue_key, own, now)
}
local cur = read_json(lock_key)
if cur then result.held = held_view(cur, last_seen, now, active, idle, stale) end
local delay = read_json(delay_key)
if delay then
  result.delay_until = delay['until']
  result.reserved_for = delay.reserved_for
end
if not cur or cur.holder ~= caller then result.note = note_for(prefix, caller, name) end
return cjson.encode(result)
