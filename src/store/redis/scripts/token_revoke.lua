-- Deletes a token and its hash entry. Returns 1 when it existed.
-- KEYS[1] tokens   KEYS[2] tokens:by_hash   ARGV[1] id
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local token = cjson.decode(raw)
redis.call('HDEL', KEYS[2], token.hash)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
