-- The token record whose secret hashes to ARGV[1], or false.
-- KEYS[1] tokens   KEYS[2] tokens:by_hash   ARGV[1] sha256
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
