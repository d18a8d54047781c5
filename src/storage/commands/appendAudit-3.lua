--[[
  Appends one entry to the audit trail and to its actor's and its kind's streams under the same
  id, so a filtered page and the whole trail never disagree.

  Input:
    KEYS[1]  the whole trail (a stream)
    KEYS[2]  the actor's entries (a stream)
    KEYS[3]  the kind's entries (a stream)

    ARGV[...]  the entry's fields and values, in pairs

  Output:
    the entry's id
]]
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV))
redis.call('XADD', KEYS[2], id, unpack(ARGV))
redis.call('XADD', KEYS[3], id, unpack(ARGV))
return id
