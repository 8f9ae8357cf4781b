-- Compare-and-set of one session's credential hash.
-- KEYS[1] claims (hash)   ARGV[1] session   ARGV[2] expected hash ('' = none)   ARGV[3] new hash
-- Returns 1 when written, 0 when the recorded hash was not the expected one.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current == false then current = '' end
if current ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
