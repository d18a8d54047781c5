--[[
  Changes a build's status, and any other fields with it, if the build is in one of the given
  statuses (and, if given, in the given attempt): a compare-and-set, so a late or repeated writer
  (BullMQ delivers at least once) can never move a build out of a terminal state.

  Input:
    KEYS[1]  the build's hash

    ARGV[1]  the statuses the build may be in, comma-separated ('' for any)
    ARGV[2]  the new status
    ARGV[3]  the attempt the build must be in, as stored ('' for any)
    ARGV[4...] fields and their encoded values to set with the status

  Output:
    {1, the status before} when changed; {0, the status now} when not ({0, ''}: no such build)
]]
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
if ARGV[1] ~= '' and not string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then
  return {0, current}
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then return {0, current} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 4))
return {1, current}
