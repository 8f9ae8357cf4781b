-- leave_queue: a waiter gives up (timed out, cancelled, disconnected). If it was at the
-- head, the next waiter is woken.
-- KEYS: 1 queue list, 2 waiter key
-- ARGV: 1 waiter id, 2 lock name, 3 events channel
local queue_key, waiter_key = KEYS[1], KEYS[2]
local waiter, name, channel = ARGV[1], ARGV[2], ARGV[3]
local was_head = redis.call('LINDEX', queue_key, 0) == waiter
redis.call('LREM', queue_key, 0, waiter)
redis.call('DEL', waiter_key)
if was_head then redis.call('PUBLISH', channel, name) end
return 1
