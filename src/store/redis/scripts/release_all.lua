-- release_all: frees every lock a session holds (session ended or abandoned); wakes waiters.
-- KEYS: 1 the session's held set, 2 index zset, 3 names lex zset
-- ARGV: 1 session, 2 key prefix, 3 events channel
local held_key, index_key, names_key = KEYS[1], KEYS[2], KEYS[3]
local session, prefix, channel = ARGV[1], ARGV[2], ARGV[3]
local released = {}
for _, name in ipairs(redis.call('SMEMBERS', held_key)) do
  local rec = read_json(prefix .. 'locks:' .. name)
  if rec and rec.holder == session then
    drop_lock(prefix, index_key, names_key, name, rec)
    redis.call('PUBLISH', channel, name)
    released[#released + 1] = name
  end
end
redis.call('DEL', held_key)
table.sort(released)
if #released == 0 then return '[]' end
return cjson.encode(released)
