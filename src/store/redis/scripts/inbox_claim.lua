-- Claim the listed messages for delivery: each one that is still unread (after the cursor,
-- still in the inbox, not expired) is taken out of the inbox (XDEL) and returned, so no
-- other delivery path (prompt context, Stop block, another waiter) hands it out again.
-- KEYS[1] inbox:{session}   KEYS[2] inbox:cursor:{session}
-- ARGV ids to claim
-- Returns a flat list, oldest first: id, message JSON, ttl ms ('' = none), id, ...
local now = now_ms()

local function after(a_ms, a_seq, b_ms, b_seq)
  return a_ms > b_ms or (a_ms == b_ms and a_seq > b_seq)
end

local c_ms, c_seq = 0, 0
local cursor = redis.call('GET', KEYS[2])
if cursor then c_ms, c_seq = parse_stream_id(cursor) end

local ids = {}
for i = 1, #ARGV do
  local ms, seq = parse_stream_id(ARGV[i])
  if ms and after(ms, seq, c_ms, c_seq) then ids[#ids + 1] = { ARGV[i], ms, seq } end
end
table.sort(ids, function(a, b) return after(b[2], b[3], a[2], a[3]) end)

local out, taken = {}, {}
for _, e in ipairs(ids) do
  local found = redis.call('XRANGE', KEYS[1], e[1], e[1])
  if #found == 1 then
    local raw, ttl, expired = inbox_entry(e[1], found[1][2], now)
    if not expired then
      out[#out + 1] = e[1]; out[#out + 1] = raw; out[#out + 1] = ttl
      taken[#taken + 1] = e[1]
    end
  end
end
if #taken > 0 then redis.call('XDEL', KEYS[1], unpack(taken)) end
return out
