-- CloudMind refund (prelude.lua comes first): gives back the unit a decision took from each window of one key owner.
-- KEYS[1..] window hashes  ARGV[1] the time of the decision (ms, the server's)  ARGV[2..] window lengths (s)
refund(KEYS, 1, tonumber(ARGV[1]), 2)
return 0
