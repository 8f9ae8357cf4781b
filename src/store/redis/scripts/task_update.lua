-- task_update: a new status / progress / note for a task or a subtask, by its assignee,
-- its creator, or anyone while it is unassigned; keeps the ready zset and the assignees'
-- task_holds sets true, and names the dependents a `done` made ready.
-- KEYS: 1 spec hash, 2 state hash, 3 ready zset
-- ARGV: 1 task id, 2 subtask ('' = the task), 3 caller, 4 status ('' = unchanged),
--       5 progress ('' = unchanged), 6 note ('' = none), 7 notes kept, 8 key prefix, 9 project
local spec_key, state_key, ready_key = KEYS[1], KEYS[2], KEYS[3]
local id, subtask, session, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local progress, note, kept = ARGV[5], ARGV[6], tonumber(ARGV[7])
local prefix, project = ARGV[8], ARGV[9]
local now = now_ms()

local st = task_state(state_key, id)
if not st then return cjson.encode({ outcome = 'not_found' }) end
if st.assignee and st.assignee ~= session and st.created_by ~= session then
  return cjson.encode({ outcome = 'not_yours', assignee = st.assignee })
end
local old_assignee = st.assignee
local previous
if subtask ~= '' then
  local cur = st.subtasks[subtask]
  if not cur then return cjson.encode({ outcome = 'no_subtask' }) end
  previous = cur
  if status ~= '' then st.subtasks[subtask] = status end
else
  previous = st.status
  if status ~= '' then
    -- Starting, handing in or finishing a task needs its dependencies done.
    if (status == 'in-progress' or status == 'review' or status == 'done') and previous ~= status then
      local w = waiting_on(state_key, st)
      if #w > 0 then return cjson.encode({ outcome = 'waiting_on', waiting_on = w }) end
    end
    if status == 'in-progress' and previous ~= 'in-progress' then
      if not st.assignee then
        st.assignee = session
        st.claimed_at_ms = now
      end
    end
    if status == 'pending' then
      st.assignee = nil
      st.claimed_at_ms = nil
      st.progress = nil
    end
    st.status = status
  end
end
if progress ~= '' then st.progress = math.min(100, tonumber(progress)) end
if note ~= '' then
  st.notes[#st.notes + 1] = { at_ms = now, by = session, text = note }
  while #st.notes > kept do table.remove(st.notes, 1) end
end
st.updated_at_ms = now
redis.call('HSET', state_key, id, cjson.encode(st))

local member = project .. ':' .. id
if old_assignee then redis.call('SREM', holds_key(prefix, old_assignee), member) end
if st.assignee and is_active(st.status) then redis.call('SADD', holds_key(prefix, st.assignee), member) end

local unblocked = {}
if subtask == '' then
  sync_ready(state_key, ready_key, id, st)
  if (st.status == 'done') ~= (previous == 'done') then
    for _, d in ipairs(st.dependents) do
      local dst = task_state(state_key, d)
      if dst then
        sync_ready(state_key, ready_key, d, dst)
        if st.status == 'done' and is_ready(state_key, dst) then unblocked[#unblocked + 1] = d end
      end
    end
  end
end
return cjson.encode({
  outcome = 'updated', id = id, state = st, spec = redis.call('HGET', spec_key, id),
  previous = previous, unblocked = unblocked
})
