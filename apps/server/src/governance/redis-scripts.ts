/**
 * The Lua scripts behind the Redis store. Each runs atomically in Redis, so a check and the
 * counting that follows it cannot interleave with another instance's: that is what makes a limit
 * hold exactly across the fleet. Each request costs one script call to be admitted and one to
 * settle. The rules are memory-limiter.ts's, in the same order; both stores pass the same tests.
 *
 * Rate windows are hashes of one-second buckets (field = second, value = count), as in window.ts.
 */

const WINDOW = `
local function window(key, nowS)
  local all = redis.call('HGETALL', key)
  local total, list = 0, {}
  for i = 1, #all, 2 do
    local s = tonumber(all[i])
    local c = tonumber(all[i + 1])
    if s <= nowS - 60 then
      redis.call('HDEL', key, all[i])
    elseif c > 0 then
      total = total + c
      list[#list + 1] = { s, c }
    end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  return total, list
end
local function emptyAt(list, nowS)
  if #list == 0 then return nowS end
  return list[#list][1] + 60
end
local function untilBelow(list, total, limit, nowS)
  for _, b in ipairs(list) do
    total = total - b[2]
    if total < limit then return b[1] + 60 - nowS end
  end
  return 60
end
`;

/**
 * KEYS, 6 per subject: requests window, tokens window, in-flight leases (zset: lease → expiry ms),
 * reservations (hash: lease → nano-USD), day spend, month spend; then the revoked hash.
 * ARGV: now ms, mode (consume | budget | peek), lease ('' = none), lease expiry ms, reserve nano-USD,
 * subject count, then 7 per subject: id, rpm, tpm, max_concurrent, budget nano-USD ('' = none),
 * period (day | month), period end ms.
 * Returns: { outcome, subject index (1-based, 0 = none), retry-after s, then per subject
 * requests used, requests empty-at s, tokens used, tokens empty-at s }.
 * Outcomes: ok, revoked, rpm, tpm, concurrency, budget, reserved.
 */
export const ADMIT = `${WINDOW}
local now = tonumber(ARGV[1])
local nowS = math.floor(now / 1000)
local mode = ARGV[2]
local lease = ARGV[3]
local leaseUntil = tonumber(ARGV[4])
local reserve = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local revoked = KEYS[6 * n + 1]
local consume = mode == 'consume'
local states = {}
local function arg(i, j) return ARGV[6 + (i - 1) * 7 + j] end
local function num(v) if v == '' then return nil end return tonumber(v) end

for i = 1, n do
  if redis.call('HEXISTS', revoked, arg(i, 1)) == 1 then return { 'revoked', i, 0 } end
end

local outcome, at, retry = 'ok', 0, 0
for i = 1, n do
  local base = (i - 1) * 6
  local rpm, tpm, conc, budget = num(arg(i, 2)), num(arg(i, 3)), num(arg(i, 4)), num(arg(i, 5))
  local st = { rUsed = 0, rEmpty = nowS, tUsed = 0, tEmpty = nowS }
  states[i] = st
  local rList, tList
  if rpm then st.rUsed, rList = window(KEYS[base + 1], nowS); st.rEmpty = emptyAt(rList, nowS) end
  if tpm then st.tUsed, tList = window(KEYS[base + 2], nowS); st.tEmpty = emptyAt(tList, nowS) end
  if outcome == 'ok' and mode ~= 'peek' then
    if consume and rpm and st.rUsed >= rpm then
      outcome, at, retry = 'rpm', i, untilBelow(rList, st.rUsed, rpm, nowS)
    elseif consume and tpm and st.tUsed >= tpm then
      outcome, at, retry = 'tpm', i, untilBelow(tList, st.tUsed, tpm, nowS)
    else
      local held, reserved = 0, 0
      if lease ~= '' and (conc or budget) then
        local expired = redis.call('ZRANGEBYSCORE', KEYS[base + 3], '-inf', now)
        for _, l in ipairs(expired) do
          redis.call('ZREM', KEYS[base + 3], l)
          redis.call('HDEL', KEYS[base + 4], l)
        end
        held = redis.call('ZCARD', KEYS[base + 3])
        for _, v in ipairs(redis.call('HVALS', KEYS[base + 4])) do reserved = reserved + tonumber(v) end
      end
      if lease ~= '' and conc and held >= conc then
        outcome, at = 'concurrency', i
      elseif budget then
        local spent = tonumber(redis.call('GET', KEYS[base + (arg(i, 6) == 'day' and 5 or 6)]) or '0')
        if spent >= budget then
          outcome, at = 'budget', i
        elseif consume and reserved > 0 and spent + reserved >= budget then
          outcome, at = 'reserved', i
        end
      end
    end
  end
end

if outcome == 'ok' and consume then
  for i = 1, n do
    local base = (i - 1) * 6
    if num(arg(i, 2)) then
      redis.call('HINCRBY', KEYS[base + 1], nowS, 1)
      redis.call('EXPIRE', KEYS[base + 1], 61)
      states[i].rUsed = states[i].rUsed + 1
      states[i].rEmpty = nowS + 60
    end
    if lease ~= '' then
      redis.call('ZADD', KEYS[base + 3], leaseUntil, lease)
      redis.call('HSET', KEYS[base + 4], lease, reserve)
      local ttl = math.ceil((leaseUntil - now) / 1000) + 60
      redis.call('EXPIRE', KEYS[base + 3], ttl)
      redis.call('EXPIRE', KEYS[base + 4], ttl)
    end
  end
end

local out = { outcome, at, retry }
for i = 1, n do
  local st = states[i]
  out[#out + 1] = st.rUsed
  out[#out + 1] = st.rEmpty
  out[#out + 1] = st.tUsed
  out[#out + 1] = st.tEmpty
end
return out
`;

/**
 * KEYS, 5 per subject: tokens window, in-flight leases, reservations, day spend, month spend;
 * then the ledger hash of the day.
 * ARGV: now ms, lease ('' = none), tokens, nano-USD, day spend TTL s, month spend TTL s, subject
 * count, then per subject: whether it has a tpm limit (1 | 0); then the ledger field prefix
 * ('' = no entry), requests, input, output, cache read, cache write, nano-USD.
 */
export const SETTLE = `
local now = tonumber(ARGV[1])
local nowS = math.floor(now / 1000)
local lease = ARGV[2]
local tokens = tonumber(ARGV[3])
local nusd = tonumber(ARGV[4])
local n = tonumber(ARGV[7])
for i = 1, n do
  local base = (i - 1) * 5
  if tokens > 0 and ARGV[7 + i] == '1' then
    redis.call('HINCRBY', KEYS[base + 1], nowS, tokens)
    redis.call('EXPIRE', KEYS[base + 1], 61)
  end
  if nusd > 0 then
    redis.call('INCRBY', KEYS[base + 4], nusd)
    redis.call('EXPIRE', KEYS[base + 4], ARGV[5])
    redis.call('INCRBY', KEYS[base + 5], nusd)
    redis.call('EXPIRE', KEYS[base + 5], ARGV[6])
  end
  if lease ~= '' then
    redis.call('ZREM', KEYS[base + 2], lease)
    redis.call('HDEL', KEYS[base + 3], lease)
  end
end
local l = 7 + n
local prefix = ARGV[l + 1]
if prefix ~= '' then
  local ledger = KEYS[5 * n + 1]
  local names = { 'requests', 'input', 'output', 'cache_read', 'cache_write', 'nusd' }
  for j, name in ipairs(names) do
    local v = tonumber(ARGV[l + 1 + j])
    if v ~= 0 or j == 1 then redis.call('HINCRBY', ledger, prefix .. name, v) end
  end
end
return 1
`;

/**
 * Saves a key or team record, keeps the indexes (hash → id, live name → id, revoked) and tells
 * every instance. KEYS: records, hash index, live names, revoked, version. ARGV: id, subject id,
 * name, hash ('' for teams), JSON, revoked-at ('' = live), create (1 | 0), channel.
 * Returns 'conflict' when creating under a live name.
 */
export const SAVE_RECORD = `
local id, subject, name, hash, json, revokedAt, create, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if create == '1' then
  if redis.call('HSETNX', KEYS[3], name, id) == 0 then return 'conflict' end
end
redis.call('HSET', KEYS[1], id, json)
if hash ~= '' then redis.call('HSET', KEYS[2], hash, id) end
if revokedAt ~= '' then
  redis.call('HSET', KEYS[4], subject, revokedAt)
  if redis.call('HGET', KEYS[3], name) == id then redis.call('HDEL', KEYS[3], name) end
end
local v = redis.call('INCR', KEYS[5])
redis.call('PUBLISH', channel, v)
return 'ok'
`;
