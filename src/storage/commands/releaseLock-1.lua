--[[
  Gives a lock back, only if the token still holds it (it may have lapsed and been taken since).

  Input:
    KEYS[1]  the lock (string: the holder's token)

    ARGV[1]  the holder's token

  Output:
    1 when released; 0 when the token did not hold it
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
