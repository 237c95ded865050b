"""Lua scripts the Redis backend runs server-side (EVALSHA), each one atomic.

Key names are built from the brain prefix ``P`` (``{ns}:b:{<brain>}:``) plus the fixed
suffixes of :class:`neural_memory.storage._redis_plan.BrainKeys`; keep both in step.
Lua compares strings with ``strcoll`` (locale-dependent in Redis), so the write script sorts
ids with an explicit byte comparison, which equals Python's code-point order for UTF-8.
"""

from __future__ import annotations

__all__ = [
    "BACKFILL_SUCCESSORS",
    "CHANGES",
    "FETCH",
    "GUARDED_HSET",
    "RECALL_EVENT",
    "SAVE_BRAIN",
    "VERSION",
    "WRITE",
]

WRITE = r"""
-- KEYS[1] brains directory hash
-- ARGV[1] brain id, ARGV[2] brain key prefix, ARGV[3] header JSON, ARGV[4] change-log limit,
-- ARGV[5..] record JSON, referred to from the header by ARGV index
-- header 'nb' = {brain JSON, brain order key, order counter key}: create the brain too
local P = ARGV[2]
local b = cjson.decode(ARGV[3])
local nb = b['nb']
local brain_exists = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if nb and brain_exists then return {'exists', 'brain', ARGV[1]} end
if not nb and not brain_exists then return {'brain'} end
local N, NO, CTR, S, LINKED = P..'n', P..'no', P..'ctr', P..'s', P..'linked'
local F, FLU, T, TX, PR = P..'f', P..'flu', P..'t', P..'tx', P..'p'
local SEQ, LOG = P..'seq', P..'log'
local function list(name) return b[name] or {} end
local function has(h, id) return redis.call('HEXISTS', h, id) == 1 end

-- 1. compare-and-set guard of the synapses the deltas were computed from
for _, x in ipairs(list('cas')) do
  if redis.call('HGET', S, x[1]) ~= x[2] then return {'retry'} end
end
-- ... and of the neurons and fibers the access deltas were applied to
for _, x in ipairs(list('casr')) do
  if redis.call('HGET', P..x[1], x[2]) ~= x[3] then return {'retry'} end
end

-- the state the caller's reference checks read (see storage/_integrity.py) is still current
if b['seq'] and (redis.call('GET', SEQ) or '0') ~= b['seq'] then return {'retry'} end

-- 2. validation: nothing is written before every check passed
local ni, ne, nu = list('ni'), list('ne'), list('nu')
local si, se, su = list('si'), list('se'), list('su')
local fi, fu = list('fi'), list('fu')
local known = {}
for _, x in ipairs(ni) do known[x[1]] = true end
for _, x in ipairs(ne) do known[x[1]] = true end
local function neuron_known(id)
  if known[id] == nil then known[id] = has(N, id) end
  return known[id]
end
for _, x in ipairs(ni) do
  if has(N, x[1]) then return {'exists', 'neuron', x[1]} end
end
for _, x in ipairs(nu) do
  if not has(N, x[1]) then return {'missing', 'neuron', x[1]} end
end
for _, group in ipairs({si, se, su}) do
  for _, x in ipairs(group) do
    for _, endpoint in ipairs({x[2], x[3]}) do
      if not neuron_known(endpoint) then return {'endpoint', x[1], endpoint} end
    end
  end
end
for _, x in ipairs(si) do
  if has(S, x[1]) then return {'exists', 'synapse', x[1]} end
end
for _, x in ipairs(su) do
  if not has(S, x[1]) then return {'missing', 'synapse', x[1]} end
end
for _, x in ipairs(fi) do
  if has(F, x[1]) then return {'exists', 'fiber', x[1]} end
end
for _, x in ipairs(fu) do
  if not has(F, x[1]) then return {'missing', 'fiber', x[1]} end
end
local deleted_fibers = {}
for _, id in ipairs(list('df')) do deleted_fibers[id] = true end
for _, group in ipairs({fi, fu}) do
  for _, x in ipairs(group) do
    local missing = {}
    for _, n in ipairs(x[3]) do
      if not neuron_known(n) then missing[#missing + 1] = n end
    end
    if #missing > 0 then return {'fiber_neurons', x[1], unpack(missing)} end
  end
end
-- no fiber may name a deleted neuron after the batch (see storage/_integrity.py)
local rewritten, deleted_neurons = {}, {}
for _, group in ipairs({fi, fu}) do
  for _, x in ipairs(group) do rewritten[x[1]] = true end
end
for id in pairs(deleted_fibers) do rewritten[id] = true end
for _, id in ipairs(list('dn')) do
  deleted_neurons[id] = true
  for _, fid in ipairs(redis.call('SMEMBERS', P..'fn:'..id)) do
    if not rewritten[fid] then return {'in_use', id, fid} end
  end
end
for _, group in ipairs({fi, fu}) do
  for _, x in ipairs(group) do
    if not deleted_fibers[x[1]] then
      for _, n in ipairs(x[3]) do
        if deleted_neurons[n] then return {'in_use', n, x[1]} end
      end
    end
  end
end
-- the caller's reference checks, run on the state read under the 'seq' guard
if b['refuse'] then return {'refused', b['refuse'][1], b['refuse'][2]} end

-- 3. apply, in WriteBatch order (the new brain first)
if nb then
  redis.call('HSET', KEYS[1], ARGV[1], nb[1])
  redis.call('ZADD', nb[2], redis.call('INCR', nb[3]), ARGV[1])
end
local function order_neuron(id) redis.call('ZADD', NO, redis.call('INCR', CTR), id) end
for _, x in ipairs(ne) do
  if redis.call('HSETNX', N, x[1], ARGV[x[2]]) == 1 then order_neuron(x[1]) end
end
for _, group in ipairs({ni, nu}) do
  for _, x in ipairs(group) do
    if redis.call('HSET', N, x[1], ARGV[x[2]]) == 1 then order_neuron(x[1]) end
  end
end
for _, x in ipairs(list('sd')) do redis.call('HSET', S, x[1], x[2]) end
local function put_synapse(x)
  redis.call('HSET', S, x[1], ARGV[x[4]])
  redis.call('SADD', P..'sn:'..x[2], x[1])
  redis.call('SADD', P..'sn:'..x[3], x[1])
  redis.call('SADD', LINKED, x[2], x[3])
end
for _, x in ipairs(se) do
  if not has(S, x[1]) then put_synapse(x) end
end
for _, group in ipairs({si, su}) do
  for _, x in ipairs(group) do put_synapse(x) end
end

local function unindex_fiber(id, old)
  local o = cjson.decode(old)
  for _, n in ipairs(o.neuron_ids) do redis.call('SREM', P..'fn:'..n, id) end
  if type(o.superseded_by) == 'string' then redis.call('SREM', P..'sb:'..o.superseded_by, id) end
end
for _, group in ipairs({fi, fu}) do
  for _, x in ipairs(group) do
    local old = redis.call('HGET', F, x[1])
    if old then unindex_fiber(x[1], old) end
    redis.call('HSET', F, x[1], ARGV[x[2]])
    for _, n in ipairs(x[3]) do redis.call('SADD', P..'fn:'..n, x[1]) end
    if x[5] then redis.call('SADD', P..'sb:'..x[5], x[1]) end
    redis.call('ZADD', FLU, x[4], x[1])
  end
end

local function unindex_memory(id, old)
  local o = cjson.decode(old)
  redis.call('SREM', P..'tf:'..o.fiber_id, id)
  if type(o.project_id) == 'string' then redis.call('SREM', P..'tp:'..o.project_id, id) end
  redis.call('ZREM', TX, id)
end
local function drop_memory(id)
  local old = redis.call('HGET', T, id)
  if old then
    redis.call('HDEL', T, id)
    unindex_memory(id, old)
  end
end
for _, x in ipairs(list('pv')) do
  redis.call('SADD', P..'vm', x[2])
  redis.call('HSET', P..'v:'..x[2], x[1], ARGV[x[3]])
end
for _, x in ipairs(list('tm')) do
  local old = redis.call('HGET', T, x[1])
  if old then unindex_memory(x[1], old) end
  redis.call('HSET', T, x[1], ARGV[x[2]])
  redis.call('SADD', P..'tf:'..x[3], x[1])
  if x[4] then redis.call('SADD', P..'tp:'..x[4], x[1]) end
  if x[5] then redis.call('ZADD', TX, x[5], x[1]) end
end
for _, x in ipairs(list('pp')) do redis.call('HSET', PR, x[1], ARGV[x[2]]) end

for _, id in ipairs(list('df')) do
  local old = redis.call('HGET', F, id)
  if old then
    redis.call('HDEL', F, id)
    redis.call('ZREM', FLU, id)
    unindex_fiber(id, old)
    for _, model in ipairs(redis.call('SMEMBERS', P..'vm')) do
      redis.call('HDEL', P..'v:'..model, id)
    end
  end
  -- its typed memories go along
  for _, tid in ipairs(redis.call('SMEMBERS', P..'tf:'..id)) do drop_memory(tid) end
end
local function drop_synapse(id)
  local old = redis.call('HGET', S, id)
  if not old then return end
  local o = cjson.decode(old)
  redis.call('HDEL', S, id)
  for _, endpoint in ipairs({o.source_id, o.target_id}) do
    redis.call('SREM', P..'sn:'..endpoint, id)
    if redis.call('EXISTS', P..'sn:'..endpoint) == 0 then redis.call('SREM', LINKED, endpoint) end
  end
end
for _, id in ipairs(list('ds')) do drop_synapse(id) end
local cascaded = {}
for _, id in ipairs(list('dn')) do
  if redis.call('HDEL', N, id) == 1 then
    redis.call('ZREM', NO, id)
    for _, sid in ipairs(redis.call('SMEMBERS', P..'sn:'..id)) do
      drop_synapse(sid)
      cascaded[#cascaded + 1] = sid
    end
    redis.call('DEL', P..'sn:'..id)
    redis.call('SREM', LINKED, id)
  end
end
for _, id in ipairs(list('dt')) do drop_memory(id) end
for _, id in ipairs(list('dp')) do redis.call('HDEL', PR, id) end
for _, x in ipairs(list('pm')) do redis.call('HSET', P..'m', x[1], ARGV[x[2]]) end

-- 4. change log: neurons, synapses (with the cascaded ones), fibers, each sorted by id
local synapses = list('cs')
if #cascaded > 0 then
  local seen, merged = {}, {}
  for _, group in ipairs({synapses, cascaded}) do
    for _, id in ipairs(group) do
      if not seen[id] then seen[id] = true; merged[#merged + 1] = id end
    end
  end
  table.sort(merged, function(a, c)
    for i = 1, math.min(#a, #c) do
      local x, y = string.byte(a, i), string.byte(c, i)
      if x ~= y then return x < y end
    end
    return #a < #c
  end)
  synapses = merged
end
local neurons, fibers = list('cn'), list('cf')
local total = #neurons + #synapses + #fibers
local last = redis.call('INCRBY', SEQ, total)
local seq, entries = last - total, {}
for _, entry in ipairs({{'neuron', neurons}, {'synapse', synapses}, {'fiber', fibers}}) do
  for _, id in ipairs(entry[2]) do
    seq = seq + 1
    entries[#entries + 1] = seq
    entries[#entries + 1] = string.format('%d', seq)..'|'..entry[1]..'|'..id
    if #entries >= 1000 then
      redis.call('ZADD', LOG, unpack(entries))
      entries = {}
    end
  end
end
if #entries > 0 then redis.call('ZADD', LOG, unpack(entries)) end
local excess = redis.call('ZCARD', LOG) - tonumber(ARGV[4])
if excess > 0 then redis.call('ZREMRANGEBYRANK', LOG, 0, excess - 1) end
return {'ok', last}
"""

FETCH = r"""
-- KEYS[1] hash of records; KEYS[2..] index keys
-- ARGV[1] 'z': ids from the sorted set KEYS[2], ranks 0..ARGV[2]
--         's': ids from the union of the sets KEYS[2..]
local ids
if ARGV[1] == 'z' then
  ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[2]))
else
  ids = {}
  local seen = {}
  for k = 2, #KEYS do
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[k])) do
      if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
    end
  end
end
local out = {}
for i = 1, #ids, 1000 do
  local values = redis.call('HMGET', KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for _, v in ipairs(values) do
    if v then out[#out + 1] = v end
  end
end
return out
"""

CHANGES = r"""
-- KEYS[1] seq counter, KEYS[2] change-log sorted set; ARGV[1] since
local since = tonumber(ARGV[1])
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if since >= seq then return {} end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 0 or tonumber(first[2]) > since + 1 then return false end
return redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
"""

SAVE_BRAIN = r"""
-- KEYS[1] brains hash, KEYS[2] brain order sorted set, KEYS[3] order counter,
-- KEYS[4] the brain's record version (moved when an existing brain is replaced)
-- ARGV[1] brain id, ARGV[2] brain JSON
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
else
  redis.call('INCR', KEYS[4])
end
return 1
"""

GUARDED_HSET = r"""
-- KEYS[1] brains hash, KEYS[2] target hash; ARGV[1] brain id, ARGV[2..] field, value pairs
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return 1
"""

VERSION = r"""
-- KEYS[1] brains hash, KEYS[2] brain order sorted set, KEYS[3] the brain's change seq,
-- KEYS[4] its record version; ARGV[1] brain id
-- {seq, record version, generation (the brain's brain_order score)}, or nil: no such brain
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return false end
return {redis.call('GET', KEYS[3]) or '0', redis.call('GET', KEYS[4]) or '0',
        redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0'}
"""

RECALL_EVENT = r"""
-- KEYS[1] brains hash, KEYS[2] events sorted set, KEYS[3] event counter
-- ARGV[1] brain id, ARGV[2] score (created_at micros), ARGV[3] event JSON
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], ARGV[2], string.format('%016d', n) .. ARGV[3])
return 1
"""

BACKFILL_SUCCESSORS = r"""
-- KEYS[1] a brain's fiber hash; ARGV[1] the brain's key prefix
-- Adds every fiber naming a superseded_by to that fiber's 'sb:' set (idempotent).
local cursor, added = '0', 0
repeat
  local page = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 1000)
  cursor = page[1]
  local items = page[2]
  for i = 1, #items, 2 do
    local o = cjson.decode(items[i + 1])
    if type(o.superseded_by) == 'string' then
      added = added + redis.call('SADD', ARGV[1]..'sb:'..o.superseded_by, items[i])
    end
  end
until cursor == '0'
return added
"""
