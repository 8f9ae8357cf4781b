-- Take the oldest unexpired reply to one of the wanted messages out of an inbox (read or
-- not), so it is handed out once.
-- KEYS[1] inbox:{session}
-- ARGV[1] first id to look at ('<ms>-0')   ARGV[2..] pairs: wanted id, its recipient ('' = anyone)
-- Returns {id, message JSON, ttl ms or ''} | {}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wanted = {}
for i = 2, #ARGV, 2 do wanted[ARGV[i]] = ARGV[i + 1] end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local start = ARGV[1]
while true do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  if #batch == 0 then return {} end
  for _, e in ipairs(batch) do
    local id, fields = e[1], e[2]
    start = '(' .. id
    local raw = field(fields, 'm') or ''
    local ttl = field(fields, 'ttl') or ''
    local ms = tonumber(string.match(id, '^(%d+)-')) or 0
    local ok, m = pcall(cjson.decode, raw)
    if ok and type(m) == 'table' and m.kind == 'reply' and type(m.reply_to) == 'string'
        and wanted[m.reply_to] ~= nil
        and (wanted[m.reply_to] == '' or wanted[m.reply_to] == m.from)
        and not (ttl ~= '' and ms + tonumber(ttl) <= now) then
      redis.call('XDEL', KEYS[1], id)
      return {id, raw, ttl}
    end
  end
end
