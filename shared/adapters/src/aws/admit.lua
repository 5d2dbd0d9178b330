-- CloudMind rate-limit decision: one call per request, on the server's clock (prelude.lua comes first).
-- KEYS[1] block of the client   KEYS[2] its rate-limit violations (zset)   KEYS[3] statistics (hash)
-- KEYS[4] offenders (zset)      KEYS[5] index of blocks (zset)             KEYS[6..] one hash per window {s, c}
-- ARGV[1] number of windows  ARGV[2] policy  ARGV[3] client key  ARGV[4] violations that block
-- ARGV[5] violation window (ms)  ARGV[6] block duration (ms)  then per window: limit, window (s), subject key
-- Returns {1, now, "reason|until"} when blocked, else {0 admitted | 2 refused, now, newly blocked until or 0,
-- count of each window before this request...}.
local now = clock_ms()
local block = redis.call('GET', KEYS[1])
if block then
  return {1, now, block}
end
local n = tonumber(ARGV[1])
local counts, starts, allowed = {}, {}, true
for i = 1, n do
  local base = 7 + (i - 1) * 3
  local window = tonumber(ARGV[base + 1]) * 1000
  local start = now - (now % window)
  local h = redis.call('HMGET', KEYS[5 + i], 's', 'c')
  local count = 0
  if h[1] and tonumber(h[1]) == start then
    count = tonumber(h[2]) or 0
  end
  counts[i], starts[i] = count, start
  if count >= tonumber(ARGV[base]) then
    allowed = false
  end
end
local out = {0, now, 0}
if n == 0 then
  return out
end
local policy = ARGV[2]
if allowed then
  for i = 1, n do
    local window = tonumber(ARGV[7 + (i - 1) * 3 + 1]) * 1000
    redis.call('HSET', KEYS[5 + i], 's', starts[i], 'c', counts[i] + 1)
    redis.call('PEXPIREAT', KEYS[5 + i], starts[i] + window)
  end
  redis.call('HINCRBY', KEYS[3], 'allowed', 1)
  redis.call('HINCRBY', KEYS[3], policy .. ':allowed', 1)
else
  out[1] = 2
  redis.call('HINCRBY', KEYS[3], 'limited', 1)
  redis.call('HINCRBY', KEYS[3], policy .. ':limited', 1)
  local seen = {}
  for i = 1, n do
    local base = 7 + (i - 1) * 3
    local subject = ARGV[base + 2]
    if counts[i] >= tonumber(ARGV[base]) and not seen[subject] then
      seen[subject] = true
      redis.call('ZINCRBY', KEYS[4], 1, subject)
    end
  end
  -- The offenders are kept to the 1,000 with the most refusals (the statistics show the top ten).
  local extra = redis.call('ZCARD', KEYS[4]) - 1000
  if extra > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1)
  end
  local threshold, window, duration = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
  out[3] = violate(KEYS[1], KEYS[2], KEYS[5], threshold, window, duration, ARGV[3], 'rate_limited', now)
end
for i = 1, n do
  out[#out + 1] = counts[i]
end
return out
