--[[
  Removes an ended build's log before its record (SLIPWAY_LOG_RETENTION shorter than
  SLIPWAY_RETENTION), and notes when in the record, which stays. Nothing happens to a build that
  is gone, or not ended. The change of the record is published on the channel of build changes
  (the id and its status), so every process drops the answer it keeps of the build.

  Input:
    KEYS[1]  the build's hash
    KEYS[2]  the build's log (stream)

    ARGV[1]  the terminal statuses, comma-separated
    ARGV[2]  the record's field that notes it ('logExpiredAt'), ARGV[3] its encoded value
    ARGV[4]  the channel of build changes, ARGV[5] the build's id

  Output:
    1 when removed; 0 when not
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return 0 end
local noted = redis.call('HGET', KEYS[1], ARGV[2])
if noted and noted ~= 'null' then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. status)
return 1
