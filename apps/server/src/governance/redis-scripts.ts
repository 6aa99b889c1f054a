/**
 * The Lua scripts behind the Redis store. Each runs atomically in Redis, so a check and the
 * counting that follows it cannot interleave with another instance's: that is what makes a limit
 * hold exactly across the fleet. Each request costs one script call to be admitted and one to
 * settle. The rules are memory-limiter.ts's, in the same order; both stores pass the same tests.
 *
 * Rate windows are one-second buckets, as in window.ts.
 */

/*
 * Keys: each subject (a key `k:<id>` or a team `t:<id>`) has one base key, `<prefix>:s:<id>`,
 * passed in KEYS; the scripts add suffixes to it (`:rq` requests window, `:tk` tokens window, `:fl`
 * in-flight leases, `:rs` reservations, `:sp:<period>` spend). All of a request's keys are touched
 * in one script, so the store needs a single Redis (not Redis Cluster).
 *
 * A window is a hash: one field per second (its count), `t` the total of the fields, `o` the
 * oldest second that may still hold a count and `n` the newest. Seconds that left the window are
 * subtracted and deleted when it is next read, a few per call, so reading a window costs the
 * same whatever its traffic (the fields themselves are read only to say when a refused request
 * may retry).
 */
const WINDOW = `
local function window(key, nowS)
  local v = redis.call('HMGET', key, 't', 'o', 'n')
  local total, o, newest = tonumber(v[1]) or 0, tonumber(v[2]), tonumber(v[3]) or -1
  if o and o <= nowS - 60 then
    if newest <= nowS - 60 then
      redis.call('DEL', key)
      return 0, -1
    end
    for s = o, nowS - 60 do
      local c = redis.call('HGET', key, s)
      if c then
        total = total - tonumber(c)
        redis.call('HDEL', key, s)
      end
    end
    redis.call('HSET', key, 't', total, 'o', nowS - 59)
  end
  return total, newest
end
local function add(key, nowS, n)
  redis.call('HINCRBY', key, nowS, n)
  redis.call('HINCRBY', key, 't', n)
  redis.call('HSETNX', key, 'o', nowS)
  local newest = tonumber(redis.call('HGET', key, 'n'))
  if not newest or nowS > newest then redis.call('HSET', key, 'n', nowS) end
  redis.call('EXPIRE', key, 61)
end
local function emptyAt(newest, nowS)
  if newest > nowS - 60 then return newest + 60 end
  return nowS
end
local function untilBelow(key, total, limit, nowS)
  local all = redis.call('HGETALL', key)
  local list = {}
  for i = 1, #all, 2 do
    local s = tonumber(all[i])
    if s and s > nowS - 60 then list[#list + 1] = { s, tonumber(all[i + 1]) } end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  for _, b in ipairs(list) do
    total = total - b[2]
    if total < limit then return b[1] + 60 - nowS end
  end
  return 60
end
local function release(base, lease)
  local r = tonumber(redis.call('HGET', base .. ':rs', lease) or '0')
  if r > 0 then redis.call('HINCRBY', base .. ':rs', '_t', 0 - r) end
  redis.call('HDEL', base .. ':rs', lease)
  redis.call('ZREM', base .. ':fl', lease)
end
`;

/**
 * KEYS: each subject's base key, then the revoked hash.
 * ARGV: now ms, mode (consume | budget | peek), lease ('' = none), lease expiry ms, reserve nano-USD,
 * day period id, month period id, subject count, then 6 per subject: id, rpm, tpm, max_concurrent,
 * budget nano-USD ('' = none), budget period (day | month).
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
local n = tonumber(ARGV[8])
local consume = mode == 'consume'
local function arg(i, j) return ARGV[8 + (i - 1) * 6 + j] end
local function num(v) if v == '' then return nil end return tonumber(v) end

local ids = {}
for i = 1, n do ids[i] = arg(i, 1) end
local revoked = redis.call('HMGET', KEYS[n + 1], unpack(ids))
for i = 1, n do
  if revoked[i] then return { 'revoked', i, 0 } end
end

local outcome, at, retry = 'ok', 0, 0
local states = {}
for i = 1, n do
  local base = KEYS[i]
  local rpm, tpm, conc, budget = num(arg(i, 2)), num(arg(i, 3)), num(arg(i, 4)), num(arg(i, 5))
  local st = { rUsed = 0, rNewest = -1, tUsed = 0, tNewest = -1 }
  states[i] = st
  if rpm then st.rUsed, st.rNewest = window(base .. ':rq', nowS) end
  if tpm then st.tUsed, st.tNewest = window(base .. ':tk', nowS) end
  if outcome == 'ok' and mode ~= 'peek' then
    if consume and rpm and st.rUsed >= rpm then
      outcome, at, retry = 'rpm', i, untilBelow(base .. ':rq', st.rUsed, rpm, nowS)
    elseif consume and tpm and st.tUsed >= tpm then
      outcome, at, retry = 'tpm', i, untilBelow(base .. ':tk', st.tUsed, tpm, nowS)
    else
      local held, reserved = 0, 0
      if lease ~= '' and (conc or budget) then
        for _, l in ipairs(redis.call('ZRANGEBYSCORE', base .. ':fl', '-inf', now)) do release(base, l) end
        held = redis.call('ZCARD', base .. ':fl')
        reserved = tonumber(redis.call('HGET', base .. ':rs', '_t') or '0')
      end
      if lease ~= '' and conc and held >= conc then
        outcome, at = 'concurrency', i
      elseif budget then
        local period = arg(i, 6) == 'day' and ARGV[6] or ARGV[7]
        local spent = tonumber(redis.call('GET', base .. ':sp:' .. period) or '0')
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
    local base = KEYS[i]
    if num(arg(i, 2)) then
      add(base .. ':rq', nowS, 1)
      states[i].rUsed = states[i].rUsed + 1
      states[i].rNewest = nowS
    end
    if lease ~= '' then
      redis.call('ZADD', base .. ':fl', leaseUntil, lease)
      redis.call('HSET', base .. ':rs', lease, reserve)
      redis.call('HINCRBY', base .. ':rs', '_t', reserve)
      local ttl = math.ceil((leaseUntil - now) / 1000) + 60
      redis.call('EXPIRE', base .. ':fl', ttl)
      redis.call('EXPIRE', base .. ':rs', ttl)
    end
  end
end

local out = { outcome, at, retry }
for i = 1, n do
  local st = states[i]
  out[#out + 1] = st.rUsed
  out[#out + 1] = emptyAt(st.rNewest, nowS)
  out[#out + 1] = st.tUsed
  out[#out + 1] = emptyAt(st.tNewest, nowS)
end
return out
`;

/**
 * KEYS: each subject's base key, then the ledger hash of the day.
 * ARGV: now ms, lease ('' = none), tokens, nano-USD, day period id, month period id, day spend TTL s,
 * month spend TTL s, subject count, then per subject whether it has a tpm limit (1 | 0); then the
 * ledger field prefix ('' = no entry), requests, input, output, cache read, cache write, nano-USD.
 */
export const SETTLE = `${WINDOW}
local now = tonumber(ARGV[1])
local nowS = math.floor(now / 1000)
local lease = ARGV[2]
local tokens = tonumber(ARGV[3])
local nusd = tonumber(ARGV[4])
local n = tonumber(ARGV[9])
for i = 1, n do
  local base = KEYS[i]
  if tokens > 0 and ARGV[9 + i] == '1' then add(base .. ':tk', nowS, tokens) end
  if nusd > 0 then
    redis.call('INCRBY', base .. ':sp:' .. ARGV[5], nusd)
    redis.call('EXPIRE', base .. ':sp:' .. ARGV[5], ARGV[7])
    redis.call('INCRBY', base .. ':sp:' .. ARGV[6], nusd)
    redis.call('EXPIRE', base .. ':sp:' .. ARGV[6], ARGV[8])
  end
  if lease ~= '' then release(base, lease) end
end
local l = 9 + n
local prefix = ARGV[l + 1]
if prefix ~= '' then
  local ledger = KEYS[n + 1]
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
