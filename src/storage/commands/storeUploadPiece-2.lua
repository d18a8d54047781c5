--[[
  Stores one piece of an upload, counted against its token's quota in the same step, so that
  concurrent uploads cannot together pass the quota.

  Input:
    KEYS[1]  the upload (a string: the gzipped tar so far)
    KEYS[2]  the token's uploads (a hash: upload id to bytes stored)

    ARGV[1]  the upload's id
    ARGV[2]  the piece
    ARGV[3]  the upload's time to live, in seconds
    ARGV[4]  the token's quota, in bytes
    ARGV[5]  '1' for the first piece (it sets the time to live with the key), '0' for the others

  Output:
    1 when stored, 0 past the quota (nothing is stored)
]]
local used = 0
for _, bytes in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(bytes) end
if used + #ARGV[2] > tonumber(ARGV[4]) then return 0 end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('APPEND', KEYS[1], ARGV[2])
end
redis.call('HINCRBY', KEYS[2], ARGV[1], #ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
