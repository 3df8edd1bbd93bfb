"""Lua scripts of the Redis store. Each touches exactly one key, so each is atomic on any node
of a Redis Cluster. Every script also compares the record's own expiry with the caller's `now`,
so Redis honours the same clock as every other backend; Redis TTLs do the actual cleaning.
"""

# Taking and claiming are idempotent per call: the caller sends a random token, the script
# marks the record as taken by it (field t) for a minute instead of deleting it, and the same
# call sent again (redis-py retries once after a timeout) gets the same answer. Without this a
# stall longer than the client's timeout could consume a secret and deliver it to nobody.
# Every other reader treats a record with a t field as gone; the caller deletes it afterwards.

# KEYS[1] record; ARGV TTL, then field, value, field, value... Write a whole record in one step:
# it never exists without its TTL, and a copy that overwrites a record leaves no stale field.
WRITE_RECORD = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS[1] secret; ARGV now, token. Take a live secret without a passphrase.
TAKE_SECRET = """
local fields = redis.call('HMGET', KEYS[1], 'p', 'x', 't')
if fields[3] then
  if fields[3] == ARGV[2] then return redis.call('HGETALL', KEYS[1]) end
  return false
end
if not fields[1] or fields[1] ~= '0' or tonumber(fields[2]) <= tonumber(ARGV[1]) then
  return false
end
redis.call('HSET', KEYS[1], 't', ARGV[2])
redis.call('EXPIRE', KEYS[1], 60)
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1] secret; ARGV now, token. Claim a live secret; 1 only for the claiming call.
CLAIM_SECRET = """
local fields = redis.call('HMGET', KEYS[1], 'x', 't')
if fields[2] then
  if fields[2] == ARGV[2] then return 1 end
  return 0
end
if not fields[1] or tonumber(fields[1]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 't', ARGV[2])
redis.call('HDEL', KEYS[1], 'e')
redis.call('EXPIRE', KEYS[1], 60)
return 1
"""

# KEYS[1] secret; ARGV[1] now.
MARK_PREVIEWED = """
local fields = redis.call('HMGET', KEYS[1], 'x', 't')
if fields[1] and not fields[2] and tonumber(fields[1]) > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'v', '1')
end
return 0
"""

# KEYS[1] receipt; ARGV now, state, rank, timestamp field. Only ever moves forward.
ADVANCE_RECEIPT = """
local fields = redis.call('HMGET', KEYS[1], 'rank', 'x')
if not fields[1] or tonumber(fields[2]) <= tonumber(ARGV[1]) then return 0 end
if tonumber(fields[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'rank', ARGV[3], 'updated', ARGV[1], ARGV[4], ARGV[1])
return 1
"""

# KEYS[1] receipt; ARGV now, memo ('' clears it).
SET_MEMO = """
local expires = redis.call('HGET', KEYS[1], 'x')
if not expires or tonumber(expires) <= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'memo') else redis.call('HSET', KEYS[1], 'memo', ARGV[2]) end
redis.call('HSET', KEYS[1], 'updated', ARGV[1])
return 1
"""

# KEYS[1] counter; ARGV now, window. Returns {value, window end}.
HIT_COUNTER = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local ends = tonumber(redis.call('HGET', KEYS[1], 'x') or '0')
if ends <= now then
  ends = now + window
  redis.call('HSET', KEYS[1], 'n', 1, 'x', ends)
  redis.call('EXPIRE', KEYS[1], window)
  return {1, ends}
end
return {redis.call('HINCRBY', KEYS[1], 'n', 1), ends}
"""

# KEYS[1] record (receipt or item); ARGV now, [owner]. Delete it, whatever its expiry (an
# expired one would only wait for its TTL); 1 if it was live. With an owner, only an item that
# owner still owns goes: the owner's index may name a key that was since given to someone else.
DELETE_RECORD = """
local fields = redis.call('HMGET', KEYS[1], 'x', 'o')
if ARGV[2] and fields[2] ~= ARGV[2] then return 0 end
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
if fields[1] and tonumber(fields[1]) <= tonumber(ARGV[1]) then return 0 end
return 1
"""

# KEYS[1] item; ARGV now, only-if-absent (1/0), owner, value, expires at ('' for never), TTL.
# The check and the write are one step, so of concurrent only-if-absent puts one wins.
PUT_ITEM = """
if ARGV[2] == '1' then
  local fields = redis.call('HMGET', KEYS[1], 'o', 'x')
  if fields[1] and (not fields[2] or tonumber(fields[2]) > tonumber(ARGV[1])) then return 0 end
end
redis.call('DEL', KEYS[1])
if ARGV[5] == '' then
  redis.call('HSET', KEYS[1], 'o', ARGV[3], 'v', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'o', ARGV[3], 'v', ARGV[4], 'x', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
return 1
"""

# KEYS[1] item; ARGV[1] now. Delete the live item and return {owner, value, expires at or ''}.
TAKE_ITEM = """
local fields = redis.call('HMGET', KEYS[1], 'o', 'v', 'x')
if not fields[1] then return false end
if fields[3] and tonumber(fields[3]) <= tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return {fields[1], fields[2], fields[3] or ''}
"""
