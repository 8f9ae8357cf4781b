-- Store a status report: the current status in the record, plus the capped history.
-- KEYS[1] sessions:{name}   KEYS[2] sessions:last_seen   KEYS[3] sessions:history:{name}
-- ARGV[1] name   ARGV[2] expected rev   ARGV[3] new record JSON   ARGV[4] report JSON
-- ARGV[5] history cap   ARGV[6] history TTL (ms)
-- Returns {'ok', last_seen} | {'changed'} | {'not_live'}
local score, refusal = live_at_rev(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if refusal then return refusal end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return {'ok', score}
