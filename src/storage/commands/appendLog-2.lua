--[[
  Appends a batch of entries to a build's log and adds the bytes of its lines to the build's count,
  in one command: a worker writes a batch as one round trip and Redis parses one command, however
  many lines the build printed since the last batch. Entries go in in the order given.

  Input:
    KEYS[1]  the build's log (a stream)
    KEYS[2]  the build's hash, which counts the bytes the log keeps

    ARGV[1]  the hash's field that counts them
    ARGV[2]  the bytes to add to it
    ARGV[3...]  the entries, each as its number of values, then its fields and values in pairs

  Output:
    the number of entries appended
]]
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
local i = 3
local appended = 0
while i <= #ARGV do
  local count = tonumber(ARGV[i])
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + count))
  i = i + count + 1
  appended = appended + 1
end
return appended
