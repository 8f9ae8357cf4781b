-- Delete a session ended long enough ago: record, history, its entry in the parent's set.
-- KEYS[1] sessions:{name}   KEYS[2] sessions:ended   KEYS[3] sessions:history:{name}
-- KEYS[4] sessions:children:{parent}
-- ARGV[1] name   ARGV[2] cut-off (ms)   ARGV[3] expected rev   ARGV[4] '1' if it has a parent
-- Returns 1 when purged, 0 when not due or changed meanwhile.
local ended = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not ended or tonumber(ended) > tonumber(ARGV[2]) then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' and tostring(rec.rev or 0) ~= ARGV[3] then return 0 end
end
if ARGV[4] == '1' then redis.call('SREM', KEYS[4], ARGV[1]) end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
