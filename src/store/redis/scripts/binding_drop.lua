-- Forget a Claude session id's binding only if it still names the session being ended.
-- KEYS[1] bindings:claude:{claude_id}   ARGV[1] session name
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
