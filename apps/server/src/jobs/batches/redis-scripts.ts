/**
 * The Lua scripts of the Redis batch store (redis-store.ts). Each runs atomically, so a request's
 * lease, result and the batch's counts always change together. Keys are built from the prefix
 * inside the scripts (as BullMQ does): a single Redis (or a primary with replicas), not a cluster.
 *
 * Keys under `<prefix>:mb`:
 *   b:<id>          hash: the batch (owner, state, seq, total, next, counts, times, context, native)
 *   b:<id>:req      hash: index → "<custom_id> <params JSON>" until the request has its result
 *   b:<id>:res      hash: index → the result line
 *   b:<id>:att      hash: index → starts so far
 *   b:<id>:retry    list: indexes handed back (shutdown) or whose worker's lease lapsed
 *   open            zset seq → id: in-progress batches that may have requests to claim
 *   running         zset "<id>:<index>" → lease end (ms); holders: hash "<id>:<index>" → holder
 *   live            zset expires_at → id: batches not ended; canceling: set of ids
 *   owner:<owner>   zset seq → id (listing); archive / delete / receiving: zsets by due time
 *   pending         requests not yet finished over every batch; seq: the batch counter
 */

/** Shared by the scripts below: a request's result is recorded, or `n` are settled at once. */
const COUNT = `
local function count(P, id, b, n, outcome, now)
  redis.call('HINCRBY', b, outcome, n)
  redis.call('DECRBY', P .. ':pending', n)
  local left = redis.call('HINCRBY', b, 'processing', -n)
  if left <= 0 then
    redis.call('HSET', b, 'state', 'ended', 'ended_at', now)
    redis.call('HDEL', b, 'context')
    redis.call('ZREM', P .. ':open', id)
    redis.call('ZREM', P .. ':live', id)
    redis.call('SREM', P .. ':canceling', id)
    redis.call('DEL', b .. ':req', b .. ':att', b .. ':retry')
  end
end
`;

/**
 * Leases that lapsed (their worker died) go back to their batch's retry list, except the caller's
 * own: a lapsed lease of our own is a stalled event loop, not a dead worker.
 */
const REQUEUE = `
local function requeue(P, holder, now, limit)
  local lapsed = redis.call('ZRANGEBYSCORE', P .. ':running', '-inf', '(' .. now, 'LIMIT', 0, limit)
  local moved = 0
  for _, m in ipairs(lapsed) do
    if redis.call('HGET', P .. ':holders', m) ~= holder then
      redis.call('ZREM', P .. ':running', m)
      redis.call('HDEL', P .. ':holders', m)
      local id, idx = string.match(m, '^(.*):(%d+)$')
      local b = P .. ':b:' .. id
      local f = redis.call('HMGET', b, 'state', 'seq')
      if f[1] and f[1] ~= 'ended' then
        redis.call('RPUSH', b .. ':retry', idx)
        if f[1] == 'in_progress' then redis.call('ZADD', P .. ':open', f[2], id) end
      end
      moved = moved + 1
    end
  end
  return moved
end
`;

/** ARGV: prefix, holder, now, lease end. Returns {id, index, "<custom_id> <params>", starts, context} or nil. */
export const CLAIM = `${REQUEUE}
local P, holder, now, lease = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
requeue(P, holder, now, 16)
local open = redis.call('ZRANGE', P .. ':open', 0, 15)
for _, id in ipairs(open) do
  local b = P .. ':b:' .. id
  local f = redis.call('HMGET', b, 'state', 'expires_at', 'next', 'total')
  if f[1] ~= 'in_progress' or tonumber(f[2]) <= now then
    redis.call('ZREM', P .. ':open', id)
  else
    local idx = redis.call('LPOP', b .. ':retry')
    if not idx then
      local nxt, total = tonumber(f[3]), tonumber(f[4])
      if nxt < total then
        idx = tostring(nxt)
        redis.call('HSET', b, 'next', nxt + 1)
      else
        -- Every request was claimed; a request handed back puts the batch back in 'open'.
        redis.call('ZREM', P .. ':open', id)
      end
    end
    if idx then
      local v = redis.call('HGET', b .. ':req', idx)
      if v then
        local m = id .. ':' .. idx
        redis.call('ZADD', P .. ':running', lease, m)
        redis.call('HSET', P .. ':holders', m, holder)
        local starts = redis.call('HINCRBY', b .. ':att', idx, 1)
        return {id, idx, v, starts, redis.call('HGET', b, 'context')}
      end
    end
  end
end
return false`;

/** ARGV: prefix, holder, now, limit. Returns how many leases went back. */
export const REQUEUE_LAPSED = `${REQUEUE}
return requeue(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))`;

/**
 * ARGV: prefix, "<id>:<index>", holder, lease end, now. Refused once the batch has expired: the
 * worker aborts, and the request ends expired.
 */
export const RENEW = `
local P, m, holder = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', P .. ':holders', m) ~= holder then return 0 end
local id = string.match(m, '^(.*):%d+$')
local expires = tonumber(redis.call('HGET', P .. ':b:' .. id, 'expires_at') or '0')
if expires <= tonumber(ARGV[5]) then return 0 end
redis.call('ZADD', P .. ':running', 'XX', ARGV[4], m)
return 1`;

/** ARGV: prefix, "<id>:<index>", holder, outcome, result JSON, now. 1 when recorded (first and only time). */
export const FINISH = `${COUNT}
local P, m, holder, outcome, result, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('HGET', P .. ':holders', m) ~= holder then return 0 end
redis.call('ZREM', P .. ':running', m)
redis.call('HDEL', P .. ':holders', m)
local id, idx = string.match(m, '^(.*):(%d+)$')
local b = P .. ':b:' .. id
local v = redis.call('HGET', b .. ':req', idx)
if not v then return 0 end
local cid = string.match(v, '^(%S+) ')
redis.call('HSET', b .. ':res', idx, '{"custom_id":"' .. cid .. '","result":' .. result .. '}')
redis.call('HDEL', b .. ':req', idx)
count(P, id, b, 1, outcome, now)
return 1`;

/** ARGV: prefix, "<id>:<index>", holder. Shutdown: back to the queue, the start not counted. */
export const RELEASE = `
local P, m, holder = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', P .. ':holders', m) ~= holder then return 0 end
redis.call('ZREM', P .. ':running', m)
redis.call('HDEL', P .. ':holders', m)
local id, idx = string.match(m, '^(.*):(%d+)$')
local b = P .. ':b:' .. id
redis.call('HINCRBY', b .. ':att', idx, -1)
redis.call('LPUSH', b .. ':retry', idx)
local f = redis.call('HMGET', b, 'state', 'seq')
if f[1] == 'in_progress' then redis.call('ZADD', P .. ':open', f[2], id) end
return 1`;

/**
 * ARGV: prefix, id, total, max pending, context JSON. Receiving → in progress. Returns -1 - pending when the
 * pending cap would be passed, 0 when the batch is not being received, 1 when opened.
 */
export const OPEN = `
local P, id, total, max = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local b = P .. ':b:' .. id
local f = redis.call('HMGET', b, 'state', 'seq', 'owner', 'expires_at', 'results_until', 'delete_at')
if f[1] ~= 'receiving' then return 0 end
local pending = tonumber(redis.call('GET', P .. ':pending') or '0')
if pending + total > max then return -1 - pending end
redis.call('HSET', b, 'state', 'in_progress', 'total', total, 'processing', total, 'next', 0, 'context', ARGV[5])
redis.call('INCRBY', P .. ':pending', total)
redis.call('ZREM', P .. ':receiving', id)
redis.call('ZADD', P .. ':open', f[2], id)
redis.call('ZADD', P .. ':live', f[4], id)
redis.call('ZADD', P .. ':owner:' .. f[3], f[2], id)
redis.call('ZADD', P .. ':archive', f[5], id)
redis.call('ZADD', P .. ':delete', f[6], id)
return 1`;

/** ARGV: prefix, id, total, native JSON. Receiving → in progress upstream; the stored requests go. */
export const OPEN_NATIVE = `
local P, id, total = ARGV[1], ARGV[2], tonumber(ARGV[3])
local b = P .. ':b:' .. id
local f = redis.call('HMGET', b, 'state', 'seq', 'owner', 'results_until', 'delete_at')
if f[1] ~= 'receiving' then return 0 end
redis.call('HSET', b, 'state', 'in_progress', 'total', total, 'processing', total, 'next', total, 'native', ARGV[4])
redis.call('HDEL', b, 'context')
redis.call('UNLINK', b .. ':req')
redis.call('ZREM', P .. ':receiving', id)
redis.call('ZADD', P .. ':owner:' .. f[3], f[2], id)
redis.call('ZADD', P .. ':archive', f[4], id)
redis.call('ZADD', P .. ':delete', f[5], id)
return 1`;

/** ARGV: prefix, id, now. In progress → canceling. */
export const CANCEL = `
local P, id = ARGV[1], ARGV[2]
local b = P .. ':b:' .. id
local f = redis.call('HMGET', b, 'state', 'native')
if f[1] ~= 'in_progress' or f[2] then return 0 end
redis.call('HSET', b, 'state', 'canceling', 'cancel_initiated_at', ARGV[3])
redis.call('ZREM', P .. ':open', id)
redis.call('SADD', P .. ':canceling', id)
return 1`;

/**
 * ARGV: prefix, id, now, limit. Settles up to `limit` requests of a canceling or expired batch
 * that are not running: handed-back ones first, then those never claimed. Returns {outcome, settled, left}.
 */
export const SETTLE = `${COUNT}
local P, id, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local b = P .. ':b:' .. id
local f = redis.call('HMGET', b, 'state', 'expires_at', 'next', 'total', 'native')
local outcome
if f[5] then return {'', 0, 0} end
if f[1] == 'canceling' then outcome = 'canceled'
elseif f[1] == 'in_progress' and tonumber(f[2]) <= now then outcome = 'expired'
else return {'', 0, 0} end
local result = '{"type":"' .. outcome .. '"}'
local n = 0
local function settleOne(idx)
  local v = redis.call('HGET', b .. ':req', idx)
  if v then
    local cid = string.match(v, '^(%S+) ')
    redis.call('HSET', b .. ':res', idx, '{"custom_id":"' .. cid .. '","result":' .. result .. '}')
    redis.call('HDEL', b .. ':req', idx)
    n = n + 1
  end
end
while n < limit do
  local idx = redis.call('LPOP', b .. ':retry')
  if not idx then break end
  settleOne(idx)
end
local nxt, total = tonumber(f[3]), tonumber(f[4])
local stop = math.min(total, nxt + (limit - n))
for i = nxt, stop - 1 do settleOne(tostring(i)) end
if stop > nxt then redis.call('HSET', b, 'next', stop) end
if n > 0 then count(P, id, b, n, outcome, now) end
return {outcome, n, (total - stop) + redis.call('LLEN', b .. ':retry')}`;

/** ARGV: prefix, id. Forgets a batch, whatever its state (the service allows it only when ended or receiving). */
export const REMOVE = `
local P, id = ARGV[1], ARGV[2]
local b = P .. ':b:' .. id
local f = redis.call('HMGET', b, 'owner', 'state', 'processing', 'native')
if not f[1] then return 0 end
if (f[2] == 'in_progress' or f[2] == 'canceling') and not f[4] then
  redis.call('DECRBY', P .. ':pending', tonumber(f[3]))
end
for _, z in ipairs({'open', 'live', 'archive', 'delete', 'receiving'}) do redis.call('ZREM', P .. ':' .. z, id) end
redis.call('ZREM', P .. ':owner:' .. f[1], id)
redis.call('SREM', P .. ':canceling', id)
redis.call('DEL', b)
redis.call('UNLINK', b .. ':req', b .. ':res', b .. ':att', b .. ':retry')
return 1`;

/** ARGV: prefix, id. Results are deleted; the batch stays (archived). */
export const ARCHIVE = `
local P, id = ARGV[1], ARGV[2]
local b = P .. ':b:' .. id
redis.call('ZREM', P .. ':archive', id)
if redis.call('EXISTS', b) == 0 then return 0 end
redis.call('HSET', b, 'archived', 1)
redis.call('UNLINK', b .. ':req', b .. ':res', b .. ':att', b .. ':retry')
return 1`;
