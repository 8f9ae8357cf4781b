-- task_create: a batch of tasks, all or nothing (ids new, dependencies known, size bound).
-- KEYS: 1 spec hash, 2 state hash, 3 ready zset, 4 projects set
-- ARGV: 1 project, 2 max tasks per project, 3 n, then per task: id, spec JSON, state JSON
--       (seq and times are set here)
local spec_key, state_key, ready_key, projects_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local project, max, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()

local existing = redis.call('HLEN', state_key)
if existing + n > max then
  return cjson.encode({ outcome = 'refused', refusal = 'project_full', existing = existing, limit = max })
end

local batch, order = {}, {}
for i = 1, n do
  local id = ARGV[3 + 3 * (i - 1) + 1]
  if redis.call('HEXISTS', state_key, id) == 1 then
    return cjson.encode({ outcome = 'refused', refusal = 'duplicate_id', id = id })
  end
  batch[id] = cjson.decode(ARGV[3 + 3 * (i - 1) + 3])
  order[i] = id
end

-- Earlier tasks this batch depends on (they learn their new dependents).
local earlier = {}
for i = 1, n do
  local id = order[i]
  for _, d in ipairs(batch[id].dependencies) do
    if not batch[d] and not earlier[d] then
      local st = task_state(state_key, d)
      if not st then
        return cjson.encode({ outcome = 'refused', refusal = 'unknown_dependency', task = id, dependency = d })
      end
      earlier[d] = st
    end
  end
end
for i = 1, n do
  local id = order[i]
  for _, d in ipairs(batch[id].dependencies) do
    local target = batch[d] or earlier[d]
    target.dependents[#target.dependents + 1] = id
  end
end

local states = {}
for i = 1, n do
  local id, st = order[i], batch[order[i]]
  st.seq = existing + i
  st.created_at_ms = now
  st.updated_at_ms = now
  redis.call('HSET', spec_key, id, ARGV[3 + 3 * (i - 1) + 2])
  redis.call('HSET', state_key, id, cjson.encode(st))
  states[i] = st
end
for d, st in pairs(earlier) do
  redis.call('HSET', state_key, d, cjson.encode(st))
end
for i = 1, n do
  local id = order[i]
  if is_ready(state_key, batch[id], batch) then
    redis.call('ZADD', ready_key, claim_order(batch[id]), id)
  end
end
redis.call('SADD', projects_key, project)
return cjson.encode({ outcome = 'created', states = states })
