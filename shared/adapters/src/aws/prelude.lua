-- CloudMind's shared Lua, put in front of admit.lua and violation.lua (one copy of the block logic).

-- The server's clock in milliseconds.
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Counts one violation of `client` at `now` in the zset `violations`, and blocks the client once `threshold`
-- violations fall within `window` ms: the block key holds "reason|until" for `duration` ms, the index of blocks
-- gets the client. Returns the end of the new block (ms), or 0.
local function violate(block, violations, index, threshold, window, duration, client, reason, now)
  redis.call('ZADD', violations, now, now .. '-' .. redis.call('ZCARD', violations))
  redis.call('ZREMRANGEBYSCORE', violations, '-inf', now - window)
  redis.call('PEXPIRE', violations, window)
  if threshold > 0 and redis.call('ZCARD', violations) >= threshold then
    redis.call('SET', block, reason .. '|' .. (now + duration), 'PX', duration)
    redis.call('ZADD', index, now + duration, client)
    redis.call('DEL', violations)
    return now + duration
  end
  return 0
end

