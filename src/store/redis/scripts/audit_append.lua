-- Appends audit entries to the audit stream and trims it, in one step.
-- KEYS[1] = the audit stream; ARGV[1] = max entries, ARGV[2] = max age ms,
-- ARGV[3..] = entry JSON, oldest first. Returns the stream length.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', '=', tonumber(ARGV[1]))
redis.call('XTRIM', KEYS[1], 'MINID', '=', tostring(math.max(0, now - tonumber(ARGV[2]))))
return redis.call('XLEN', KEYS[1])
