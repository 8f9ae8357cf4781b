-- Records a token: its record by id, and its hash → id for the lookup of each request.
-- KEYS[1] tokens (hash id → JSON)   KEYS[2] tokens:by_hash (hash sha256 → id)
-- ARGV[1] id   ARGV[2] sha256   ARGV[3] record JSON
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
