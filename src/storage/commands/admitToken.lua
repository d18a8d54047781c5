--[[
  Checks a presented token in one round trip. First the count of unknown tokens from the
  request's client address: past the limit nothing is looked up, so no answer says whether a token
  is good. Then the token's record (an unknown token adds to its address's count; the one that
  reaches the limit is announced, so every API process holds the address back at once), then a
  claim of request slots in its rate window (a fixed window per token): an API process draws a
  few slots at a time and hands them out itself.

  Input (two keys for the admin token, which is known without a lookup; three for any other):
    KEYS[1]  the client address's count of unknown tokens this window
    KEYS[2]  the token's count of requests this window
    KEYS[3]  the token's record, found by the token's hash (absent for the admin token)

    ARGV[1]  the window, in ms
    ARGV[2]  the unknown tokens an address may present per window
    ARGV[3]  the slots to claim (0: only look the token up)
    ARGV[4]  the channel that announces an address held back
    ARGV[5]  the client address, as the announcement names it

  Output:
    {'limited', ms until the address may try again}
    {'unknown'}
    {'admitted', the record ('' for the admin token), the count after the claim, ms until the window ends}
      (with no claim: the count and ms are 0)
]]
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures >= tonumber(ARGV[2]) then return {'limited', redis.call('PTTL', KEYS[1])} end
local record = ''
if KEYS[3] then
  record = redis.call('GET', KEYS[3])
  if not record then
    local count = redis.call('INCR', KEYS[1])
    if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    if count == tonumber(ARGV[2]) then
      redis.call('PUBLISH', ARGV[4], cjson.encode({kind = 'limited', client = ARGV[5], ms = redis.call('PTTL', KEYS[1])}))
    end
    return {'unknown'}
  end
end
local claim = tonumber(ARGV[3])
if claim == 0 then return {'admitted', record, 0, 0} end
local count = redis.call('INCRBY', KEYS[2], claim)
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 then
  -- The window's first claim starts it.
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {'admitted', record, count, ttl}
