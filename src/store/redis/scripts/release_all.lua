-- release_all: frees every lock a session holds (session ended or abandoned); wakes waiters.
-- With a lock-delay (an admin ended the session: it may still be running), each released
-- lock is kept from everyone until the delay ends (reserved for nobody).
-- KEYS: 1 the session's held set, 2 index zset, 3 names lex zset
-- ARGV: 1 session, 2 key prefix, 3 events channel, 4 lock-delay ms (0 = none)
local held_key, index_key, names_key = KEYS[1], KEYS[2], KEYS[3]
local session, prefix, channel = ARGV[1], ARGV[2], ARGV[3]
local delay_ms = tonumber(ARGV[4] or '0') or 0
local now = delay_ms > 0 and now_ms() or 0
local released = {}
for _, name in ipairs(redis.call('SMEMBERS', held_key)) do
  local rec = read_json(prefix .. 'locks:' .. name)
  if rec and rec.holder == session then
    drop_lock(prefix, index_key, names_key, name, rec)
    if delay_ms > 0 then
      redis.call('SET', prefix .. 'locks:delay:' .. name, cjson.encode({ ['until'] = now + delay_ms }), 'PX', delay_ms)
    end
    redis.call('PUBLISH', channel, name)
    released[#released + 1] = name
  end
end
redis.call('DEL', held_key)
table.sort(released)
if #released == 0 then return '[]' end
return cjson.encode(released)
