-- Take the oldest unexpired reply to one of the wanted messages out of an inbox (read or
-- not), so it is handed out once.
-- KEYS[1] inbox:{session}
-- ARGV[1] first id to look at ('<ms>-0')   ARGV[2..] pairs: wanted id, its recipient ('' = anyone)
-- Returns {id, message JSON, ttl ms or ''} | {}
local now = now_ms()
local wanted = {}
for i = 2, #ARGV, 2 do wanted[ARGV[i]] = ARGV[i + 1] end

local start = ARGV[1]
while true do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  if #batch == 0 then return {} end
  for _, e in ipairs(batch) do
    local id, fields = e[1], e[2]
    start = '(' .. id
    local raw, ttl, expired = inbox_entry(id, fields, now)
    local m = decode_object(raw)
    if m and m.kind == 'reply' and type(m.reply_to) == 'string'
        and wanted[m.reply_to] ~= nil
        and (wanted[m.reply_to] == '' or wanted[m.reply_to] == m.from)
        and not expired then
      redis.call('XDEL', KEYS[1], id)
      return {id, raw, ttl}
    end
  end
end
