-- End a live session: write the ended record, move it from the liveness index to `ended`.
-- KEYS[1] sessions:{name}   KEYS[2] sessions:last_seen   KEYS[3] sessions:ended   KEYS[4] heartbeat:{name}
-- ARGV[1] name   ARGV[2] expected rev   ARGV[3] ended record JSON   ARGV[4] ended at (ms)
-- ARGV[5] only if last seen at or before this (ms; '' = unconditional: the reaper's guard)
-- Returns {'ok', last_seen} | {'changed'} | {'not_live'} | {'not_due'}
local score, refusal = live_at_rev(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if refusal then return refusal end
if ARGV[5] ~= '' and tonumber(score) > tonumber(ARGV[5]) then return {'not_due'} end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('DEL', KEYS[4])
redis.call('SET', KEYS[1], ARGV[3])
return {'ok', score}
