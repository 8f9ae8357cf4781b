-- daemon_beat: this daemon is alive for another lease; daemons it found dead are dropped;
-- leases that ran out are pruned. Answers this host's daemons (id → JSON {pid, …}) for the
-- daemon to judge by pid (see daemons.rs).
-- KEYS: 1 live daemons zset (instance id → lease end ms), 2 this host's daemons hash
-- ARGV: 1 this daemon's instance id, 2 its JSON, 3 lease ms, 4.. instance ids found dead
local live_key, host_key = KEYS[1], KEYS[2]
local id, me, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_ms()
for i = 4, #ARGV do
  redis.call('ZREM', live_key, ARGV[i])
  redis.call('HDEL', host_key, ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', live_key, '-inf', now)
redis.call('ZADD', live_key, now + lease, id)
redis.call('HSET', host_key, id, me)
for _, other in ipairs(redis.call('HKEYS', host_key)) do
  if not redis.call('ZSCORE', live_key, other) then redis.call('HDEL', host_key, other) end
end
return redis.call('HGETALL', host_key)
