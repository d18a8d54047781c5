--[[
  Takes a lease on one more open log follow for a token, unless it holds its limit. Expired
  leases are dropped first. Times are Redis's own clock, so the API hosts' clocks need not agree.

  Input:
    KEYS[1]  the token's leases (a sorted set: lease id by when it expires, in ms)

    ARGV[1]  the new lease's id
    ARGV[2]  the lease's time to live, in ms
    ARGV[3]  the most leases the token may hold

  Output:
    1 when taken, 0 at the limit (nothing is added)
]]
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
