--[[
  Changes fields of an existing secret; with an expected sealed value, only while the secret still
  holds that one (a re-encryption must not overwrite a value set meanwhile).

  Input:
    KEYS[1]  the secret (hash)

    ARGV[1]  the sealed value it must hold, or '' for any
    ARGV[2…] the fields to set: name, value, name, value, …

  Output:
    1 when changed; 0 when there is no such secret, or it holds another value
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'sealed') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
