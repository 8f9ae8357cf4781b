-- task_release: every task a session works on (in-progress / blocked) goes back to
-- pending, without assignee, with a note saying who dropped it (the session ended or was
-- abandoned). Its task_holds set goes.
-- KEYS: 1 the session's task_holds set
-- ARGV: 1 session, 2 note author, 3 note text, 4 notes kept, 5 key prefix
local holds = KEYS[1]
local session, by, text, kept, prefix = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local now = now_ms()

local out = {}
for _, member in ipairs(redis.call('SMEMBERS', holds)) do
  local project, id = string.match(member, '^([^:]+):(.+)$')
  if project then
    local state_key = prefix .. 'tasks:' .. project .. ':state'
    local st = task_state(state_key, id)
    if st and st.assignee == session and is_active(st.status) then
      st.status = 'pending'
      st.assignee = nil
      st.claimed_at_ms = nil
      st.progress = nil
      st.updated_at_ms = now
      st.notes[#st.notes + 1] = { at_ms = now, by = by, text = text }
      while #st.notes > kept do table.remove(st.notes, 1) end
      redis.call('HSET', state_key, id, cjson.encode(st))
      sync_ready(state_key, prefix .. 'tasks:' .. project .. ':ready', id, st)
      out[#out + 1] = { project = project, state = st,
        spec = redis.call('HGET', prefix .. 'tasks:' .. project .. ':spec', id) }
    end
  end
end
redis.call('DEL', holds)
return cjson.encode({ tasks = out })
