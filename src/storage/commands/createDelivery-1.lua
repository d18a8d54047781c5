--[[
  Stores a webhook delivery unless one with its id exists (a repeated fan-out).

  Input:
    KEYS[1]  the delivery's hash

    ARGV[...]  the hash's fields and their encoded values, in pairs

  Output:
    1 when stored, 0 when the delivery existed (it is left as it was)
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
