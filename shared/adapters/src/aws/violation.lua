-- CloudMind violation count: blocks the client once the threshold is reached within the window (prelude.lua
-- comes first).
-- KEYS[1] block of the client  KEYS[2] violations of this kind (zset)  KEYS[3] index of blocks (zset)
-- ARGV[1] threshold  ARGV[2] window (ms)  ARGV[3] block duration (ms)  ARGV[4] client key  ARGV[5] reason
-- Returns the end of the new block (ms), or 0 (also when the client is blocked already).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
return violate(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5],
  clock_ms())
