"""Lua scripts of the Redis store. Each touches exactly one key, so each is atomic on any node
of a Redis Cluster. Every script also compares the record's own expiry with the caller's `now`,
so Redis honours the same clock as every other backend; Redis TTLs do the actual cleaning.
"""

from onetime.store.redis_records import RECEIPT_HEAD

# Taking and claiming are idempotent per call: the caller sends a random token, the script
# marks the record as taken by it (it then starts with T and the token) for a minute instead of
# deleting it, and the same call sent again (redis-py retries once after a timeout) gets the same
# answer. Without this a stall longer than the client's timeout could consume a secret and
# deliver it to nobody. Every other reader treats a taken record as gone; the caller deletes it
# afterwards.

# Secrets and receipts are single strings (store/redis_records.py has their layout and why):
# a fixed-width head that a script reads with string.sub and changes with SETRANGE, then the
# variable parts. Versions before this kept them as hashes; every script that meets one (an
# error from GET) rewrites it as a string first, with the TTL it had, so a running store moves
# over record by record as they are touched.
_RECORDS = f"""
local RECEIPT_HEAD = {RECEIPT_HEAD}
local function digits(n) return string.format('%011d', tonumber(n) or 0) end
local function head_number(n, width) return string.format('%0' .. width .. 'd', n) end

local function hash_secret(key)
  local f = redis.call('HMGET', key, 'p', 'v', 'o', 'c', 'x', 'r', 'e', 't')
  local rid = f[6] or ''
  -- A missing passphrase flag reads as set: TAKE_SECRET must never hand such a record out.
  local record = 'S' .. (f[1] or '1') .. (f[2] or '0') .. (f[3] or '1') .. digits(f[4])
    .. digits(f[5]) .. head_number(string.len(rid), 3) .. rid .. (f[7] or '')
  if f[8] then
    -- taken (t set): keep the token; a take keeps the record for its retry, a claim drops it
    record = 'T' .. head_number(string.len(f[8]), 2) .. f[8] .. (f[7] and record or '')
  end
  return record
end

local function hash_receipt(key)
  local f = redis.call('HMGET', key, 'sid', 'x', 'static', 'state', 'rank', 'updated',
    'previewed', 'revealed', 'burned', 'memo')
  local sid, static = f[1] or '', f[3] or ''
  return 'R' .. string.sub(f[4] or 'n', 1, 1) .. (f[5] or '0') .. digits(f[2]) .. digits(f[6])
    .. digits(f[7]) .. digits(f[8]) .. digits(f[9]) .. head_number(string.len(sid), 3)
    .. head_number(string.len(static), 5) .. sid .. static .. (f[10] or '')
end

-- The record at `key` as a string (false if there is none), rewriting a hash from before.
local function read(key, from_hash)
  local value = redis.pcall('GET', key)
  if type(value) ~= 'table' or not value.err then return value end
  local record = from_hash(key)
  local ttl = redis.call('PTTL', key)
  redis.call('DEL', key)
  if ttl == -1 then  -- never written without a TTL, but never make one up either
    redis.call('SET', key, record)
  elseif ttl > 0 then
    redis.call('SET', key, record, 'PX', ttl)
  else  -- in its last millisecond: let it go rather than keep it with no expiry
    return false
  end
  return record
end

local function secret_expires(record) return tonumber(string.sub(record, 16, 26)) end
local function receipt_expires(record) return tonumber(string.sub(record, 4, 14)) end
local function taken_by(record)
  local length = tonumber(string.sub(record, 2, 3))
  return string.sub(record, 4, 3 + length), string.sub(record, 4 + length)
end
local function taken(token, record) return 'T' .. head_number(string.len(token), 2) .. token .. record end
"""

# KEYS[1] secret or receipt: the record as a string, rewriting a hash from before (GET failed).
READ_SECRET = _RECORDS + "return read(KEYS[1], hash_secret)"
READ_RECEIPT = _RECORDS + "return read(KEYS[1], hash_receipt)"

# KEYS[1] secret; ARGV now, token. Take a live secret without a passphrase.
TAKE_SECRET = (
    _RECORDS
    + """
local record = read(KEYS[1], hash_secret)
if not record then return false end
if string.sub(record, 1, 1) == 'T' then
  local token, kept = taken_by(record)
  if token == ARGV[2] and kept ~= '' then return kept end
  return false
end
if string.sub(record, 2, 2) ~= '0' or secret_expires(record) <= tonumber(ARGV[1]) then
  return false
end
redis.call('SET', KEYS[1], taken(ARGV[2], record), 'EX', 60)
return record
"""
)

# KEYS[1] secret; ARGV now, token. Claim a live secret; 1 only for the claiming call.
CLAIM_SECRET = (
    _RECORDS
    + """
local record = read(KEYS[1], hash_secret)
if not record then return 0 end
if string.sub(record, 1, 1) == 'T' then
  if taken_by(record) == ARGV[2] then return 1 end
  return 0
end
if secret_expires(record) <= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], taken(ARGV[2], ''), 'EX', 60)
return 1
"""
)

# KEYS[1] secret; ARGV[1] now. The previewed flag is the record's third byte.
MARK_PREVIEWED = (
    _RECORDS
    + """
local record = read(KEYS[1], hash_secret)
if record and string.sub(record, 1, 1) == 'S' and secret_expires(record) > tonumber(ARGV[1]) then
  redis.call('SETRANGE', KEYS[1], 2, '1')
end
return 0
"""
)

# KEYS[1] receipt; ARGV now, state code, rank, offset of the state's timestamp. Only ever
# moves forward. SETRANGE keeps the key's TTL.
ADVANCE_RECEIPT = (
    _RECORDS
    + """
local record = read(KEYS[1], hash_receipt)
if not record or receipt_expires(record) <= tonumber(ARGV[1]) then return 0 end
if tonumber(string.sub(record, 3, 3)) >= tonumber(ARGV[3]) then return 0 end
local now = digits(ARGV[1])
redis.call('SETRANGE', KEYS[1], 1, ARGV[2] .. ARGV[3])
redis.call('SETRANGE', KEYS[1], 14, now)
redis.call('SETRANGE', KEYS[1], tonumber(ARGV[4]), now)
return 1
"""
)

# KEYS[1] receipt; ARGV now, memo ('' clears it). The memo is what follows the static part.
SET_MEMO = (
    _RECORDS
    + """
local record = read(KEYS[1], hash_receipt)
if not record or receipt_expires(record) <= tonumber(ARGV[1]) then return 0 end
local fixed = RECEIPT_HEAD + tonumber(string.sub(record, 59, 61)) + tonumber(string.sub(record, 62, 66))
local changed = string.sub(record, 1, 14) .. digits(ARGV[1]) .. string.sub(record, 26, fixed)
redis.call('SET', KEYS[1], changed .. ARGV[2], 'KEEPTTL')
return 1
"""
)

# KEYS[1] receipt; ARGV[1] now. Delete it, whatever its expiry; 1 if it was live.
DELETE_RECEIPT = (
    _RECORDS
    + """
local record = read(KEYS[1], hash_receipt)
if not record then return 0 end
redis.call('DEL', KEYS[1])
if receipt_expires(record) <= tonumber(ARGV[1]) then return 0 end
return 1
"""
)

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

# KEYS[1] counter; ARGV value, window end, seconds. Set it, with its TTL in the same step, so a
# counter never exists without one.
SET_COUNTER = """
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'x', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS[1] item; ARGV now, [owner]. Delete it, whatever its expiry (an
# expired one would only wait for its TTL); 1 if it was live. With an owner, only an item that
# owner still owns goes: the owner's index may name a key that was since given to someone else.
DELETE_ITEM = """
local fields = redis.call('HMGET', KEYS[1], 'x', 'o')
if ARGV[2] and fields[2] ~= ARGV[2] then return 0 end
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
if not fields[2] then return 0 end  -- taken (TAKE_ITEM): it was gone already
if fields[1] and tonumber(fields[1]) <= tonumber(ARGV[1]) then return 0 end
return 1
"""

# KEYS[1] item; ARGV now, only-if-absent (1/0), owner, value, expires at ('' for never), TTL,
# and for an only-if-absent put a token, kept in the item. The check and the write are one step,
# so of concurrent only-if-absent puts one wins; the winner's put sent again (a batch replayed
# after its answers were lost) finds its own token and wins again instead of losing to itself.
PUT_ITEM = """
if ARGV[2] == '1' then
  local fields = redis.call('HMGET', KEYS[1], 'o', 'x', 'k')
  if fields[1] and (not fields[2] or tonumber(fields[2]) > tonumber(ARGV[1])) then
    if fields[3] and fields[3] == ARGV[7] then return 1 end
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'o', ARGV[3], 'v', ARGV[4])
if ARGV[7] and ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'k', ARGV[7]) end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'x', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
return 1
"""

# KEYS[1] item; ARGV[1] now, ARGV[2] a token. Take the live item: return {owner, value, expires
# at or ''}. Like a secret's take, it is not deleted at once but marked taken by the token for a
# minute (its fields renamed, so every other reader finds no owner and sees it gone), and the
# same take sent again gets the same answer: a replayed batch must not use up an email link and
# then report it as already used. The caller deletes it afterwards.
TAKE_ITEM = """
local fields = redis.call('HMGET', KEYS[1], 'o', 'v', 'x', 't', 'to', 'tv', 'tx')
if fields[4] then
  if fields[4] == ARGV[2] then return {fields[5], fields[6], fields[7] or ''} end
  return false
end
if not fields[1] then return false end
if fields[3] and tonumber(fields[3]) <= tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 't', ARGV[2], 'to', fields[1], 'tv', fields[2])
if fields[3] then redis.call('HSET', KEYS[1], 'tx', fields[3]) end
redis.call('EXPIRE', KEYS[1], 60)
return {fields[1], fields[2], fields[3] or ''}
"""

# KEYS[1] item; ARGV[1] the token of the take that marked it. Delete it if still so marked (a
# put may have written a new item under the key since).
DROP_TAKEN_ITEM = """
if redis.call('HGET', KEYS[1], 't') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
