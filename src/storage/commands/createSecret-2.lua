--[[
  Stores a new secret, unless one with its id exists.

  Input:
    KEYS[1]  the secret (hash)
    KEYS[2]  the index of secrets (sorted set, every score 0)

    ARGV[1]  the secret's id
    ARGV[2…] its fields: name, value, name, value, …

  Output:
    1 when stored; 0 when the id is taken
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
