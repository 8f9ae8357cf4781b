-- queues: read-only view of the queues and lock-delays of the given locks (for the
-- dashboard); waiters whose liveness key expired or whose daemon is gone are skipped
-- (acquire prunes them).
-- KEYS: 1 the live daemons zset (other keys are built from the prefix, as list.lua does)
-- ARGV: 1 key prefix, 2.. canonical lock names
local prefix, daemons_key = ARGV[1], KEYS[1]
local now = now_ms()

local queues = {}
for i = 2, #ARGV do
  local name = ARGV[i]
  local waiters = {}
  for _, id in ipairs(redis.call('LRANGE', prefix .. 'locks:queue:' .. name, 0, -1)) do
    local w = read_json(prefix .. 'locks:waiter:' .. id)
    if w and waiter_daemon_alive(daemons_key, w, '', now) then waiters[#waiters + 1] = w.session end
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
