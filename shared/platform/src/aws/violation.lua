-- CloudMind violation count: blocks the client once the threshold is reached within the window.
-- KEYS[1] block of the client  KEYS[2] violations of this kind (zset)  KEYS[3] index of blocks (zset)
-- ARGV[1] threshold  ARGV[2] window (ms)  ARGV[3] block duration (ms)  ARGV[4] client key  ARGV[5] reason
-- Returns the end of the new block (ms), or 0.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local threshold, window, duration = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now, now .. '-' .. redis.call('ZCARD', KEYS[2]))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window)
if threshold > 0 and redis.call('ZCARD', KEYS[2]) >= threshold then
  redis.call('SET', KEYS[1], ARGV[5] .. '|' .. (now + duration), 'PX', duration)
  redis.call('ZADD', KEYS[3], now + duration, ARGV[4])
  redis.call('DEL', KEYS[2])
  return now + duration
end
return 0
