--[[
  Checks a presented token in one round trip. First the count of unknown tokens from the
  request's client address: past the limit nothing is looked up, so no answer says whether a token
  is good. Then the token's record (an unknown token adds to its address's count), then its
  request count in its rate window (a fixed window per token).

  Input (two keys for the admin token, which is known without a lookup; three for any other):
    KEYS[1]  the client address's count of unknown tokens this window
    KEYS[2]  the token's count of requests this window
    KEYS[3]  the token's record, found by the token's hash (absent for the admin token)

    ARGV[1]  the window, in ms
    ARGV[2]  the unknown tokens an address may present per window

  Output:
    {'limited', ms until the address may try again}
    {'unknown'}
    {'admitted', the record ('' for the admin token), requests this window, ms until it ends}
]]
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures >= tonumber(ARGV[2]) then return {'limited', redis.call('PTTL', KEYS[1])} end
local record = ''
if KEYS[3] then
  record = redis.call('GET', KEYS[3])
  if not record then
    if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    return {'unknown'}
  end
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  return {'admitted', record, count, tonumber(ARGV[1])}
end
return {'admitted', record, count, redis.call('PTTL', KEYS[2])}
