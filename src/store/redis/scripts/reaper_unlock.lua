-- Release the reaper lock only if this daemon's token still holds it.
-- KEYS[1] reaper:lock   ARGV[1] token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
