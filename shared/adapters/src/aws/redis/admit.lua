-- CloudMind rate-limit decision for one key owner: every window of the owner checked, all consumed only if all
-- admit, on the server's clock (prelude.lua comes first). A request with a user makes two of these calls at once,
-- one per owner; the caller refunds one owner's units when the other refused.
-- KEYS[1] block of the owner  KEYS[2] its rate-limit violations (zset)  KEYS[3] its refusals this minute (hash)
-- KEYS[4..] one hash per window {s, c}
-- ARGV[1] number of windows  ARGV[2] 1 for a client address (its block is checked, and a refusal counts as its
-- violation and its refusal of the minute), 0 for a user  ARGV[3] violations that block  ARGV[4] violation window (ms)
-- ARGV[5] block duration (ms), then per window: limit, window (s)
-- Returns {1, now, "reason|until"} when blocked, else {0 admitted | 2 refused, now, newly blocked until or 0,
-- first refusal of the minute (1 + the count of the minute before) or 0, count of each window before this request...}.
local now = clock_ms()
local client = ARGV[2] == '1'
if client then
  local block = redis.call('GET', KEYS[1])
  if block then
    return {1, now, block}
  end
end
local n = tonumber(ARGV[1])
local counts, starts, allowed = {}, {}, true
for i = 1, n do
  local base = 6 + (i - 1) * 2
  local window = tonumber(ARGV[base + 1]) * 1000
  local start = now - (now % window)
  local h = redis.call('HMGET', KEYS[3 + i], 's', 'c')
  local count = 0
  if h[1] and tonumber(h[1]) == start then
    count = tonumber(h[2]) or 0
  end
  counts[i], starts[i] = count, start
  if count >= tonumber(ARGV[base]) then
    allowed = false
  end
end
local out = {0, now, 0, 0}
if allowed then
  for i = 1, n do
    local window = tonumber(ARGV[6 + (i - 1) * 2 + 1]) * 1000
    redis.call('HSET', KEYS[3 + i], 's', starts[i], 'c', counts[i] + 1)
    redis.call('PEXPIREAT', KEYS[3 + i], starts[i] + window)
  end
else
  out[1] = 2
  if client then
    local threshold, window, duration = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
    out[3] = violate(KEYS[1], KEYS[2], threshold, window, duration, 'rate_limited', now)
    out[4] = refuse(KEYS[3], now)
  end
end
for i = 1, n do
  out[#out + 1] = counts[i]
end
return out
