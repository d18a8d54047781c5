--[[
  Changes a build's status, and any other fields with it, if the build is in one of the given
  statuses (and, if given, in the given attempt): a compare-and-set, so a late or repeated writer
  (BullMQ delivers at least once) can never move a build out of a terminal state. When the status
  changes, its status event goes into the build's log stream in the same step, so the record and
  its log never disagree: a writer killed, or cut off from Redis, right after the change cannot
  leave an ended build without its terminal event, and a change sent again after a lost reply
  fails the compare and adds no second one. The event is encoded as build-log.ts encodes it.
  Every change applied is published (the build's id and its status) on the channel of build
  changes, in the same step, so a process waiting on the build or keeping its answer cannot miss
  it (build-changes.ts).

  Input:
    KEYS[1]  the build's hash
    KEYS[2]  the build's log (stream)

    ARGV[1]  the statuses the build may be in, comma-separated ('' for any)
    ARGV[2]  the new status
    ARGV[3]  the attempt the build must be in, as stored ('' for any)
    ARGV[4]  the status event's time (ms since the epoch)
    ARGV[5]  the channel of build changes, ARGV[6] the build's id
    ARGV[7...] fields and their encoded values to set with the status

  Output:
    {1, the status before} when changed; {0, the status now} when not ({0, ''}: no such build)
]]
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
if ARGV[1] ~= '' and not string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then
  return {0, current}
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then return {0, current} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 7))
if current ~= ARGV[2] then
  redis.call('XADD', KEYS[2], '*', 'event', 'status', 'status', ARGV[2], 'phase', '', 'ts', ARGV[4])
end
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' ' .. ARGV[2])
return {1, current}
