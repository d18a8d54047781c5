--[[
  Extends leases a process holds on a token's open log follows. A lease that expired meanwhile
  (Redis was away) is added again: its follow is still open.

  Input:
    KEYS[1]  the token's leases (a sorted set: lease id by when it expires, in ms)

    ARGV[1]  the time to live from now, in ms
    ARGV[2...] the ids of the leases to extend

  Output:
    1
]]
local time = redis.call('TIME')
local expires = time[1] * 1000 + math.floor(time[2] / 1000) + ARGV[1]
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expires, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
