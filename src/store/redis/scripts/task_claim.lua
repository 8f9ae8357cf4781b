-- task_claim: the highest-priority ready task (for a role, or any), or one named task,
-- becomes in-progress with the claimer as its assignee.
-- KEYS: 1 spec hash, 2 state hash, 3 ready zset, 4 the claimer's task_holds set
-- ARGV: 1 claimer, 2 role ('' = any), 3 task id ('' = the best ready one), 4 project
local spec_key, state_key, ready_key, holds = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local session, role, task_id, project = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now = now_ms()

local function take(id, st)
  st.status = 'in-progress'
  st.assignee = session
  st.claimed_at_ms = now
  st.progress = nil
  st.updated_at_ms = now
  redis.call('HSET', state_key, id, cjson.encode(st))
  redis.call('ZREM', ready_key, id)
  redis.call('SADD', holds, project .. ':' .. id)
  return cjson.encode({ outcome = 'claimed', id = id, state = st, spec = redis.call('HGET', spec_key, id) })
end

if task_id ~= '' then
  local st = task_state(state_key, task_id)
  if not st then return cjson.encode({ outcome = 'not_found' }) end
  if st.status ~= 'pending' then
    return cjson.encode({ outcome = 'not_pending', status = st.status, assignee = st.assignee })
  end
  local w = waiting_on(state_key, st)
  if #w > 0 then return cjson.encode({ outcome = 'not_ready', waiting_on = w }) end
  return take(task_id, st)
end

-- The ready zset is in claim order; entries that are no longer ready are dropped.
local from, page = 0, 64
while true do
  local ids = redis.call('ZRANGE', ready_key, from, from + page - 1)
  if #ids == 0 then break end
  local dropped = 0
  for _, id in ipairs(ids) do
    local st = task_state(state_key, id)
    if st and is_ready(state_key, st) then
      if role_fits(st.role, role) then return take(id, st) end
    else
      redis.call('ZREM', ready_key, id)
      dropped = dropped + 1
    end
  end
  from = from + page - dropped
end
return cjson.encode({ outcome = 'nothing_ready' })
