"""The Lua scripts of the order store (``robot.adapters.redis_store`` runs them; key names:
``robot.adapters.redis_keys``, whose ``SCRIPT_FRAGMENTS`` lists the fragments used here).

Each script is one all-or-nothing state change on a single Redis node; they build some keys
inside from the prefix (ARGV[1]). Status strings are ``OrderStatus`` values; which moves are
legal is ``robot.core.lifecycle``'s table.
"""

# KEYS: order, due, orders, outbox:due. ARGV: prefix, id, order json, phone, now iso, now epoch,
# due iso, due epoch, dnc flag, delivery id, event json. Returns 1 if added, 0 if known. A phone
# on the do-not-call list (ZSET dnc, robot.adapters.dnc_store) counts like the flag; the DNC
# order's order.final is its first cycle's (``final_sent``: robot.core.lifecycle).
ADD_ORDER = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local p, id = ARGV[1], ARGV[2]
redis.call('HSET', KEYS[1], 'order', ARGV[3], 'phone', ARGV[4], 'attempts', 0,
  'created_at', ARGV[5], 'updated_at', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], id)
local dnc_reason = false
if ARGV[9] == '1' then
  dnc_reason = 'do_not_call flag on the order'
elseif redis.call('ZSCORE', p .. 'dnc', ARGV[4]) then
  dnc_reason = 'phone on the do-not-call list'
end
if dnc_reason then
  redis.call('HSET', KEYS[1], 'status', 'dnc', 'status_reason', dnc_reason, 'final_sent', ARGV[10])
  redis.call('ZADD', p .. 'status:dnc', ARGV[6], id)
  redis.call('HSET', p .. 'outbox:item:' .. ARGV[10], 'event', ARGV[11], 'order_id', id,
    'attempt', 0)
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[10])
else
  redis.call('HSET', KEYS[1], 'status', 'queued', 'due_at', ARGV[7])
  redis.call('ZADD', p .. 'status:queued', ARGV[6], id)
  redis.call('ZADD', KEYS[2], ARGV[8], id)
end
return 1
"""

# Skips (leaves due) orders whose phone already has a call in flight; drops stale due entries
# of orders that are no longer QUEUED. KEYS: due, lease, lease:owner. ARGV: prefix, now epoch,
# lease expiry epoch, worker, lease ms, now iso, scan limit. Returns the order id or false.
# An order whose purpose no longer matches its CRM status is dropped from the schedule instead.
# Priority orders are tried first: ``due:priority`` indexes them (score = first due time; the
# ``due`` ZSET stays the only schedule, so a retry or a deferral there also holds them back).
CLAIM_DUE = """
local p = ARGV[1]
local function claim(id)
  local okey = p .. 'order:' .. id
  -- The purpose must still be the one the order's current CRM status selected
  -- (robot.core.lifecycle): a call about a status the CRM has left is never made.
  local acting = redis.call('HGET', okey, 'acting_status') or ''
  if acting ~= (redis.call('HGET', okey, 'purpose_status') or '') then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', p .. 'due:priority', id)
    redis.call('HSET', okey, 'status_reason', 'not dialled: the CRM status is now ' .. acting)
    return false
  end
  local lock = p .. 'phone:' .. redis.call('HGET', okey, 'phone')
  if not redis.call('SET', lock, id, 'NX', 'PX', ARGV[5]) then return false end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  redis.call('HSET', KEYS[3], id, ARGV[4])
  redis.call('HINCRBY', okey, 'attempts', 1)
  redis.call('HSET', okey, 'status', 'calling', 'updated_at', ARGV[6])
  redis.call('HDEL', okey, 'due_at')
  redis.call('ZREM', p .. 'status:queued', id)
  redis.call('ZADD', p .. 'status:calling', ARGV[2], id)
  return true
end
local pkey = p .. 'due:priority'
for _, id in ipairs(redis.call('ZRANGE', pkey, '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[7])) do
  local status = redis.call('HGET', p .. 'order:' .. id, 'status')
  if status ~= 'queued' and status ~= 'calling' then
    redis.call('ZREM', pkey, id)
  elseif status == 'queued' then
    local due = redis.call('ZSCORE', KEYS[1], id)
    if due and tonumber(due) <= tonumber(ARGV[2]) and claim(id) then return id end
  end
end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[7])
for _, id in ipairs(ids) do
  if redis.call('HGET', p .. 'order:' .. id, 'status') ~= 'queued' then
    redis.call('ZREM', KEYS[1], id)
  elseif claim(id) then
    return id
  end
end
return false
"""

# KEYS: lease, lease:owner. ARGV: prefix, id, worker, expiry epoch, lease ms.
RENEW_LEASE = """
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
local lock = ARGV[1] .. 'phone:' .. redis.call('HGET', ARGV[1] .. 'order:' .. ARGV[2], 'phone')
if redis.call('GET', lock) == ARGV[2] then
  redis.call('PEXPIRE', lock, ARGV[5])
else
  redis.call('SET', lock, ARGV[2], 'NX', 'PX', ARGV[5])
end
return 1
"""

# Shared by release (one order, owner checked) and reap (expired leases): back to QUEUED.
REQUEUE_FN = """
local function requeue(p, id, due_epoch, due_iso, now_iso, reason, undo_attempt)
  local okey = p .. 'order:' .. id
  redis.call('ZREM', p .. 'lease', id)
  redis.call('HDEL', p .. 'lease:owner', id)
  local phone = redis.call('HGET', okey, 'phone')
  if phone and redis.call('GET', p .. 'phone:' .. phone) == id then
    redis.call('DEL', p .. 'phone:' .. phone)
  end
  if redis.call('HGET', okey, 'status') ~= 'calling' then return end
  if undo_attempt then redis.call('HINCRBY', okey, 'attempts', -1) end
  redis.call('HSET', okey, 'status', 'queued', 'due_at', due_iso, 'updated_at', now_iso,
    'status_reason', reason)
  redis.call('ZREM', p .. 'status:calling', id)
  redis.call('ZADD', p .. 'status:queued', due_epoch, id)
  redis.call('ZADD', p .. 'due', due_epoch, id)
end
"""

# KEYS: lease, lease:owner, due. ARGV: prefix, id, worker, due epoch, due iso, now iso, reason,
# call id to drop from the history ('' for none: a call that was never placed).
RELEASE_CLAIM = (
    REQUEUE_FN
    + """
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
if ARGV[8] ~= '' then redis.call('HDEL', ARGV[1] .. 'calls:' .. ARGV[2], ARGV[8]) end
requeue(ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], true)
return 1
"""
)

# KEYS: lease, lease:owner, due. ARGV: prefix, now epoch, now iso, limit, grace epoch, grace
# iso. Returns reaped ids. An order whose lost call had been answered (a call record with
# answered_at and no outcome) comes due only at the grace time: its worker may hold the
# customer's answer in its finish journal (Redis was away, the worker restarts), and an answer
# written within the grace settles the order instead of a second call.
REAP_LEASES = (
    REQUEUE_FN
    + """
local function answered_lost(p, id)
  for _, raw in ipairs(redis.call('HVALS', p .. 'calls:' .. id)) do
    local ok, c = pcall(cjson.decode, raw)
    if ok and type(c) == 'table' and c.answered_at and c.answered_at ~= cjson.null
        and (c.outcome == nil or c.outcome == cjson.null) then
      return true
    end
  end
  return false
end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[4])
for _, id in ipairs(ids) do
  if answered_lost(ARGV[1], id) then
    requeue(ARGV[1], id, ARGV[5], ARGV[6], ARGV[3],
      'lease expired after the customer answered: waiting for a kept answer', false)
  else
    requeue(ARGV[1], id, ARGV[2], ARGV[3], ARGV[3], 'lease expired: worker lost', false)
  end
end
return ids
"""
)

# Deliveries whose visibility ran out (deliverer crashed) become due again first.
# KEYS: outbox:due, outbox:inflight. ARGV: prefix, now epoch, visible-until epoch, limit.
# Returns {delivery id, event json, attempt} triples.
CLAIM_DELIVERIES = """
local p = ARGV[1]
for _, d in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, 1000)) do
  redis.call('ZREM', KEYS[2], d)
  redis.call('ZADD', KEYS[1], ARGV[2], d)
end
local out = {}
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[4])
for _, d in ipairs(due) do
  local ikey = p .. 'outbox:item:' .. d
  redis.call('ZREM', KEYS[1], d)
  local ev = redis.call('HGET', ikey, 'event')
  if ev then
    local n = redis.call('HINCRBY', ikey, 'attempt', 1)
    redis.call('ZADD', KEYS[2], ARGV[3], d)
    table.insert(out, {d, ev, n})
  end
end
return out
"""

# KEYS: outbox:due, outbox:inflight. ARGV: prefix, delivery id, next epoch, error, attempted.
RETRY_DELIVERY = """
local ikey = ARGV[1] .. 'outbox:item:' .. ARGV[2]
if redis.call('EXISTS', ikey) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', ikey, 'last_error', ARGV[4]) end
if ARGV[5] == '0' then redis.call('HINCRBY', ikey, 'attempt', -1) end
return 1
"""

# KEYS: order, due, status:queued. ARGV: prefix, id, now epoch, now iso, reason.
# Returns the status found; a QUEUED order becomes due now. A final one is left alone: it is
# reopened with a stated number of attempts (RedisOrderStore.reopen), never silently requeued.
RETRY_NOW = """
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
if st ~= 'queued' then return st end
redis.call('HSET', KEYS[1], 'due_at', ARGV[4], 'updated_at', ARGV[4], 'status_reason', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return st
"""
