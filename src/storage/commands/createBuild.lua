--[[
  Stores a new build: its hash and its index entries, in one round trip. With a claim, only if no
  other build holds the claim's key, or only the build ARGV[4] names (one that has ended); the key
  then names this build. With a limit, only if the set of its actor's active builds holds fewer
  ids than that; this build joins the set. So the key never names a build that is not stored, and
  a flood of requests admits exactly the limit.

  Input (the number of keys varies: the claim's key and the active set are there only when used):
    KEYS[1]  the build's hash
    KEYS[2]  the claim's key, when ARGV[3] is '1'
    KEYS[...]  the actor's set of active builds, when ARGV[5] is not ''
    KEYS[...]  the indexes the build joins (sorted sets, score 0): every other key

    ARGV[1]  the build's id
    ARGV[2]  the claim's time to live, in seconds
    ARGV[3]  '1' with a claim, '0' without
    ARGV[4]  the ended build whose claim this one may take over ('' for none)
    ARGV[5]  the most active builds the actor may have ('' for no limit)
    ARGV[6...] the hash's fields and their encoded values

  Output:
    false when stored; {'held', the holder's id} or {'full'} when not (nothing is written)
]]
local first = 2
local claim, active
if ARGV[3] == '1' then
  claim = KEYS[first]
  first = first + 1
  local holder = redis.call('GET', claim)
  if holder and holder ~= ARGV[4] then return {'held', holder} end
end
if ARGV[5] ~= '' then
  active = KEYS[first]
  first = first + 1
  if redis.call('SCARD', active) >= tonumber(ARGV[5]) then return {'full'} end
end
if claim then redis.call('SET', claim, ARGV[1], 'EX', ARGV[2]) end
if active then redis.call('SADD', active, ARGV[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
for i = first, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return false
