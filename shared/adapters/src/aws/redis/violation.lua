-- CloudMind violation of one client address, and what comes with it (prelude.lua comes first): the refund of the
-- windows it consumed when another key owner refused the request, and the refusal of the minute.
-- KEYS[1] block of the client  KEYS[2] violations of this kind (zset)  KEYS[3] refusals this minute (hash)
-- KEYS[4..] window hashes to refund
-- ARGV[1] threshold  ARGV[2] window (ms)  ARGV[3] block duration (ms)  ARGV[4] reason  ARGV[5] 1 when a rate-limit
-- refusal (counted in the minute)  ARGV[6] time of the decision to refund (ms)  ARGV[7..] their window lengths (s)
-- Returns {end of the new block (ms) or 0 (also when already blocked), first refusal of the minute or 0}.
if #KEYS > 3 then
  refund(KEYS, 4, tonumber(ARGV[6]), 7)
end
local now = clock_ms()
local first = 0
if ARGV[5] == '1' then
  first = refuse(KEYS[3], now)
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, first}
end
return {violate(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], now), first}
