--[[
  Removes an ended build whose time has passed (the retention sweeper): its hash and the keys
  beside it, its id from every index, in one step, so no index ever names a build that is gone;
  and leaves a tombstone, so GET of the id answers 410 BUILD_EXPIRED rather than 404. A build
  that is not (or no longer) in a terminal status is left alone, so does a build already gone:
  two sweepers removing the same build remove it once. The removal is published on the channel of
  build changes (the id and 'gone'), so every process drops the answer it keeps of the build.

  Input (the number of keys varies with the build's indexes; callers pass that number first):
    KEYS[1]  the build's hash
    KEYS[2]  the tombstones (sorted set: id by the time it was removed, in ms)
    KEYS[3...]  then as many keys as ARGV[3] says: those beside the build to delete (log, own
             webhooks, list of deliveries)
    KEYS[...]  the indexes the id leaves (sorted sets and sets): every other key

    ARGV[1]  the build's id
    ARGV[2]  now, in ms since the epoch
    ARGV[3]  how many keys to delete follow the tombstones
    ARGV[4]  the terminal statuses, comma-separated
    ARGV[5]  the channel of build changes

  Output:
    1 when removed; 0 when not (gone already, or not ended)
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if not string.find(',' .. ARGV[4] .. ',', ',' .. status .. ',', 1, true) then return 0 end
local deleted = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
for i = 3, 2 + deleted do redis.call('DEL', KEYS[i]) end
for i = 3 + deleted, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'set' then
    redis.call('SREM', KEYS[i], ARGV[1])
  else
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[1] .. ' gone')
return 1
