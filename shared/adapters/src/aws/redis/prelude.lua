-- CloudMind's shared Lua, put in front of every script (one copy of the block, refusal and refund logic). Every key
-- a script names belongs to one key owner (a client address or a user) and shares its hash tag, so in cluster mode
-- a script runs on the one node that holds that owner's slot.

-- The server's clock in milliseconds.
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Counts one violation at `now` in the zset `violations`, and blocks the owner once `threshold` violations fall
-- within `window` ms: the block key holds "reason|until" for `duration` ms. Returns the end of the new block (ms),
-- or 0. (The index of blocks lives in other slots: the caller adds the new block to it.)
local function violate(block, violations, threshold, window, duration, reason, now)
  redis.call('ZADD', violations, now, now .. '-' .. redis.call('ZCARD', violations))
  redis.call('ZREMRANGEBYSCORE', violations, '-inf', now - window)
  redis.call('PEXPIRE', violations, window)
  if threshold > 0 and redis.call('ZCARD', violations) >= threshold then
    redis.call('SET', block, reason .. '|' .. (now + duration), 'PX', duration)
    redis.call('DEL', violations)
    return now + duration
  end
  return 0
end

-- Counts one refusal of the owner at `now` in the hash `refusals` {m: minute, c: count, p: count of the minute
-- before}. Returns 1 + the count of the minute before for the first refusal of a minute (the one the audit trail
-- records), else 0.
local function refuse(refusals, now)
  local minute = math.floor(now / 60000)
  local h = redis.call('HMGET', refusals, 'm', 'c')
  local m, c = tonumber(h[1]), tonumber(h[2]) or 0
  if m == minute and c > 0 then
    redis.call('HINCRBY', refusals, 'c', 1)
    return 0
  end
  local previous = 0
  if m == minute - 1 then
    previous = c
  end
  redis.call('HSET', refusals, 'm', minute, 'c', 1)
  redis.call('PEXPIRE', refusals, 120000)
  return previous + 1
end

-- Gives back one unit of each window hash in `keys` (from index `first`) consumed at `at`, the window lengths in
-- ARGV from `arg`; a window that has rolled over since keeps its count.
local function refund(keys, first, at, arg)
  for i = first, #keys do
    local window = tonumber(ARGV[arg + i - first]) * 1000
    local start = at - (at % window)
    local h = redis.call('HMGET', keys[i], 's', 'c')
    if h[1] and tonumber(h[1]) == start and (tonumber(h[2]) or 0) > 0 then
      redis.call('HINCRBY', keys[i], 'c', -1)
    end
  end
end
