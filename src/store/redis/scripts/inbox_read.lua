-- Read unread messages, oldest first, skipping expired ones; advance the cursor unless peek.
-- With a kind filter, the matching messages are taken out of the inbox (XDEL) and the
-- cursor stays, so other kinds remain unread.
-- KEYS[1] inbox:{session}   KEYS[2] inbox:cursor:{session}
-- ARGV[1] limit   ARGV[2] '1' = peek   ARGV[3] kinds, comma separated ('' = all)
-- ARGV[4] inbox TTL ms (for the cursor)
-- Returns a flat list: id, message JSON, ttl ms ('' = none), id, ...
local now = now_ms()
local limit = tonumber(ARGV[1])
local peek = ARGV[2] == '1'
local filter = nil
if ARGV[3] ~= '' then
  filter = {}
  for k in string.gmatch(ARGV[3], '[^,]+') do filter[k] = true end
end

local start = '(' .. (redis.call('GET', KEYS[2]) or '0-0')
local out, taken, n = {}, {}, 0
local last_scanned = nil
while n < limit do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  if #batch == 0 then break end
  for _, e in ipairs(batch) do
    local id, fields = e[1], e[2]
    start = '(' .. id
    local raw, ttl, expired = inbox_entry(id, fields, now)
    local m = decode_object(raw)
    if not m then expired = true end
    if filter then
      if not expired and filter[m.kind] then
        out[#out + 1] = id; out[#out + 1] = raw; out[#out + 1] = ttl
        n = n + 1
        taken[#taken + 1] = id
      end
    else
      last_scanned = id
      if not expired then
        out[#out + 1] = id; out[#out + 1] = raw; out[#out + 1] = ttl
        n = n + 1
      end
    end
    if n >= limit then break end
  end
end
if not peek then
  if last_scanned then
    redis.call('SET', KEYS[2], last_scanned, 'PX', ARGV[4])
  end
  if #taken > 0 then
    redis.call('XDEL', KEYS[1], unpack(taken))
  end
end
return out
