--[[
  Takes a lock, or keeps it for longer, for the holder of one token: one process at a time holds
  it, and it lapses by itself if its holder dies.

  Input:
    KEYS[1]  the lock (string: the holder's token)

    ARGV[1]  the holder's token
    ARGV[2]  how long it holds from now, in ms

  Output:
    1 when the token holds the lock now; 0 when another token does
]]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
