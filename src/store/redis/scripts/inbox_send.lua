-- Send one message: check the recipient is a live session, append to its inbox (capped),
-- refresh the TTLs of the inbox and its cursor, wake the recipient's long-polls.
-- KEYS[1] sessions:last_seen   KEYS[2] inbox:{to}   KEYS[3] inbox:cursor:{to}
-- ARGV[1] to   ARGV[2] message JSON (no id, no times)   ARGV[3] per-message TTL ms ('' = none)
-- ARGV[4] inbox cap   ARGV[5] inbox TTL ms   ARGV[6] wake-up channel
-- Returns {'ok', id} | {'not_live'}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {'not_live'}
end
local id
if ARGV[3] == '' then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'm', ARGV[2])
else
  id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'm', ARGV[2], 'ttl', ARGV[3])
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], ARGV[1])
return {'ok', id}
