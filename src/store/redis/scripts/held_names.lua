-- held_names: the names of every held lock, from the expiry index (score = expires_at), without
-- reading a record: what a listing pages over. Expired entries are pruned on the way.
-- KEYS: 1 index zset, 2 names lex zset
local index_key, names_key = KEYS[1], KEYS[2]
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', index_key, '-inf', now)
for _, name in ipairs(expired) do
  redis.call('ZREM', names_key, name)
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', index_key, '-inf', now) end
return redis.call('ZRANGEBYSCORE', index_key, '(' .. now, '+inf')
