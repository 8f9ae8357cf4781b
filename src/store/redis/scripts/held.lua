-- held: the locks among the names given that are still held, in that order, each with its
-- holder's liveness (one page of a listing; only these records are read).
-- KEYS: 1 sessions last_seen zset
-- ARGV: 1 key prefix, 2 active ms, 3 idle ms, 4 stale ms, 5.. canonical lock names
local last_seen = KEYS[1]
local prefix = ARGV[1]
local active, idle, stale = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()

local locks = {}
for i = 5, #ARGV do
  local rec = read_json(prefix .. 'locks:' .. ARGV[i])
  if rec and rec.expires_at > now then
    locks[#locks + 1] = held_view(rec, last_seen, now, active, idle, stale)
  end
end
return cjson.encode({ locks = locks, now_ms = now })
