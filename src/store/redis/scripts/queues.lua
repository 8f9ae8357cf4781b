-- queues: read-only view of the queues and lock-delays of the given locks (for the
-- dashboard); waiters whose liveness key expired or whose daemon is gone are skipped
-- (acquire prunes them).
-- KEYS: 1 the live daemons zset (other keys are built from the prefix, as list.lua does)
-- ARGV: 1 key prefix, 2 this daemon's instance id, 3.. canonical lock names
local prefix, own, daemons_key = ARGV[1], ARGV[2], KEYS[1]
local now = now_ms()

local queues = {}
for i = 3, #ARGV do
  local name = ARGV[i]
  local waiters = {}
  for _, w in ipairs(live_waiters(prefix, daemons_key, prefix .. 'locks:queue:' .. name, own, now)) do
    waiters[#waiters + 1] = w.session
  end
  local entry = nil
  if #waiters > 0 then entry = { name = name, waiters = waiters } end
  local delay = read_json(prefix .. 'locks:delay:' .. name)
  if delay and tonumber(delay['until']) > now then
    entry = entry or { name = name }
    entry.delay_until = delay['until']
    entry.reserved_for = delay.reserved_for
  end
  if entry then queues[#queues + 1] = entry end
end
return cjson.encode({ queues = queues })
