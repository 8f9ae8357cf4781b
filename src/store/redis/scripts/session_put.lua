-- Write a session record (register, re-register, implicit register, revive) and make it live.
-- One atomic step: revision check, owner check, hierarchy limits, indexes.
-- KEYS[1] sessions:{name}            KEYS[2] sessions:last_seen   KEYS[3] sessions:ended
-- KEYS[4] heartbeat:{name}           KEYS[5] sessions:{parent}    KEYS[6] sessions:children:{parent}
-- KEYS[7] sessions:children:{old parent}                          KEYS[8] sessions:children:{name}
-- ARGV[1] name   ARGV[2] expected rev ('' = no record)   ARGV[3] new record JSON
-- ARGV[4] parent ('' = none)   ARGV[5] expected parent depth ('' = parent has no record)
-- ARGV[6] '1' if the parent changes   ARGV[7] old parent ('' = none)
-- ARGV[8] claiming connection ('' = no owner check)   ARGV[9] active threshold (ms)
-- ARGV[10] max children   ARGV[11] max depth   ARGV[12] heartbeat TTL (ms)
-- Returns {'ok', now} | {'changed'} | {'owned', connection, age_ms}
--       | {'has_children', n} | {'depth', depth} | {'child_limit', n}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local name = ARGV[1]

local function decode(raw)
  local ok, rec = pcall(cjson.decode, raw)
  if ok and type(rec) == 'table' then return rec end
  return {}
end

local cur = redis.call('GET', KEYS[1])
if ARGV[2] == '' then
  if cur then return {'changed'} end
else
  if not cur or tostring(decode(cur).rev or 0) ~= ARGV[2] then return {'changed'} end
end

local score = redis.call('ZSCORE', KEYS[2], name)
if ARGV[8] ~= '' and cur and score then
  local owner = decode(cur).connection_id or ''
  local age = now - tonumber(score)
  if owner ~= '' and owner ~= ARGV[8] and age < tonumber(ARGV[9]) then
    return {'owned', owner, tostring(age)}
  end
end

local function live_members(key, except)
  local n = 0
  for _, m in ipairs(redis.call('SMEMBERS', key)) do
    if m ~= except and redis.call('ZSCORE', KEYS[2], m) then n = n + 1 end
  end
  return n
end

local parent = ARGV[4]
if parent ~= '' then
  local praw = redis.call('GET', KEYS[5])
  local pdepth = ''
  if praw then pdepth = tostring(decode(praw).depth or 0) end
  if pdepth ~= ARGV[5] then return {'changed'} end
  if ARGV[6] == '1' then
    local own = live_members(KEYS[8], '')
    if own > 0 then return {'has_children', tostring(own)} end
  end
  local depth = (tonumber(pdepth) or 0) + 1
  if depth > tonumber(ARGV[11]) then return {'depth', tostring(depth)} end
  local siblings = live_members(KEYS[6], name)
  if siblings >= tonumber(ARGV[10]) then return {'child_limit', tostring(siblings)} end
end

if ARGV[6] == '1' and ARGV[7] ~= '' then
  redis.call('SREM', KEYS[7], name)
end
if parent ~= '' then
  redis.call('SADD', KEYS[6], name)
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], now, name)
redis.call('ZREM', KEYS[3], name)
redis.call('SET', KEYS[4], now, 'PX', ARGV[12])
return {'ok', tostring(now)}
