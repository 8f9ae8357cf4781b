-- Helpers prepended to every task script (after common.lua and the generated
-- `claim_order(st)`, see store/redis/tasks.rs). A task's state is JSON in the project's
-- state hash; these read other tasks' states from it. Keys built from the prefix must
-- match src/store/redis/keys.rs: {prefix}task_holds:{session},
-- {prefix}tasks:{project}:spec|state|ready.

local function task_state(state_key, id)
  local raw = redis.call('HGET', state_key, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Dependencies of `st` that are not done, as { {id=, status=}, … }. `known` (optional)
-- maps ids to states not written yet (a batch being created).
local function waiting_on(state_key, st, known)
  local out = {}
  for _, d in ipairs(st.dependencies) do
    local dep = (known and known[d]) or task_state(state_key, d)
    if dep and dep.status ~= 'done' then out[#out + 1] = { id = d, status = dep.status } end
  end
  return out
end

local function is_ready(state_key, st, known)
  return st.status == 'pending' and #waiting_on(state_key, st, known) == 0
end

-- Keeps the ready zset true for one task after its state changed.
local function sync_ready(state_key, ready_key, id, st)
  if is_ready(state_key, st) then
    redis.call('ZADD', ready_key, claim_order(st), id)
  else
    redis.call('ZREM', ready_key, id)
  end
end

-- A claimer asking for `wanted` ('' = any) gets tasks for that role or for none
-- (domain::tasks::role_fits).
local function role_fits(task_role, wanted)
  return task_role == nil or wanted == '' or task_role == wanted
end

-- In-progress and blocked tasks are their assignee's current work (store::tasks::is_active).
local function is_active(status)
  return status == 'in-progress' or status == 'blocked'
end

local function holds_key(prefix, session)
  return prefix .. 'task_holds:' .. session
end
