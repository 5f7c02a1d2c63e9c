import type { Redis } from 'ioredis'

/**
 * The Lua scripts behind `RedisBus`: every change that touches more than one key runs as one
 * script, so that a replica dying half-way (or two replicas racing) never leaves the room hashes,
 * the user counts and the per-replica indexes disagreeing.
 *
 * Keys (all under the bus's prefix; ids never contain a tab, which `@pan/protocol` ids exclude):
 * - `pc:<room>`     HASH `user\tconn` → JSON `{ name, since, replica }`, one field per connection
 * - `pu:<room>`     HASH user → number of that user's connections in the room (HLEN = users)
 * - `rp:<replica>`  SET `room\tuser\tconn`: the presence entries that replica added
 * - `cn:<user>`     HASH conn → replica holding it (HLEN = the user's connections, for the cap)
 * - `rc:<replica>`  SET `user\tconn`: the connections that replica acquired
 * - `st`            HASH user → presence state, dropped with the user's last connection
 * - `replicas`      ZSET replica → lease expiry (ms, Redis clock)
 * - `tb:<key>`      HASH tokens, at: a token bucket, expiring once it would be full again
 * - `reports`       HASH replica → JSON `{ report, at }`
 *
 * Clocks: leases and buckets read Redis `TIME`, so replicas with skewed clocks agree.
 */

/** Redis time in ms, as a float (µs precision), for scripts. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000`

/** KEYS: replicas. ARGV: replica, leaseMs. → { 1 if the lease was new else 0, expired replicas… } */
const heartbeat = `${NOW}
local added = redis.call('ZADD', KEYS[1], math.floor(now + tonumber(ARGV[2])), ARGV[1])
local out = { added }
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', math.floor(now), 'LIMIT', 0, 100)) do
  out[#out + 1] = id
end
return out`

/**
 * KEYS: pc, pu, rp (this replica). ARGV: user\tconn, entry JSON, user, room\tuser\tconn.
 * → 1 when the user had no connection in the room before. Idempotent, so re-asserting is safe.
 */
const presenceAdd = `local existed = redis.call('HEXISTS', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
if existed == 1 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then return 1 end
return 0`

/**
 * KEYS: pc, pu. ARGV: prefix, user\tconn, user, room\tuser\tconn.
 * → 1 when that was the user's last connection in the room. The index entry is dropped from the
 * set of whichever replica added it, since any replica may remove.
 */
const presenceRemove = `local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('SREM', ARGV[1] .. 'rp:' .. cjson.decode(raw).replica, ARGV[4])
if redis.call('HINCRBY', KEYS[2], ARGV[3], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[3])
return 1`

/**
 * KEYS: cn, rc (this replica). ARGV: prefix, conn, max (-1: no cap, for re-asserting), user\tconn,
 * replica. → 1 when registered (or already was), 0 when the user is at the cap.
 */
const acquire = `local owner = redis.call('HGET', KEYS[1], ARGV[2])
if not owner and tonumber(ARGV[3]) >= 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
if owner and owner ~= ARGV[5] then redis.call('SREM', ARGV[1] .. 'rc:' .. owner, ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[4])
return 1`

/** KEYS: cn, st. ARGV: prefix, conn, user\tconn, user. Forgets the state with the last connection. */
const release = `local owner = redis.call('HGET', KEYS[1], ARGV[2])
if not owner then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('SREM', ARGV[1] .. 'rc:' .. owner, ARGV[3])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('HDEL', KEYS[2], ARGV[4]) end
return 1`

/**
 * KEYS: replicas, rp (dead), rc (dead), st. ARGV: prefix, dead replica, force (1 on a clean close).
 * Removes everything the replica registered, unless its lease is live again or another replica
 * got there first (nil then, so that exactly one replica announces the leaves). → a flat list of
 * room, user, name for each user whose last connection in a room went.
 */
const reap = `${NOW}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if ARGV[3] ~= '1' and (not expiry or tonumber(expiry) > now) then return false end
local prefix, dead, left = ARGV[1], ARGV[2], {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local room, user, conn = string.match(m, '^([^\\t]*)\\t([^\\t]*)\\t(.*)$')
  local pc, pu, field = prefix .. 'pc:' .. room, prefix .. 'pu:' .. room, user .. '\\t' .. conn
  local raw = redis.call('HGET', pc, field)
  local entry = raw and cjson.decode(raw)
  if entry and entry.replica == dead then
    redis.call('HDEL', pc, field)
    if redis.call('HINCRBY', pu, user, -1) <= 0 then
      redis.call('HDEL', pu, user)
      left[#left + 1] = room
      left[#left + 1] = user
      left[#left + 1] = tostring(entry.name)
    end
  end
end
for _, m in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local user, conn = string.match(m, '^([^\\t]*)\\t(.*)$')
  local cn = prefix .. 'cn:' .. user
  if redis.call('HGET', cn, conn) == dead then
    redis.call('HDEL', cn, conn)
    if redis.call('HLEN', cn) == 0 then redis.call('HDEL', KEYS[4], user) end
  end
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[1], dead)
return left`

/** KEYS: pc, st. → { user\tconn, entry JSON, … } and { user, state or nil, … } in one snapshot. */
const presenceList = `local all = redis.call('HGETALL', KEYS[1])
local states, seen = {}, {}
for i = 1, #all, 2 do
  local user = string.match(all[i], '^([^\\t]*)\\t')
  if not seen[user] then
    seen[user] = true
    states[#states + 1] = user
    states[#states + 1] = redis.call('HGET', KEYS[2], user)
  end
end
return { all, states }`

/**
 * KEYS: tb, one per take (a key may repeat: its takes apply in order). ARGV: perSec (> 0) of each.
 * → { ok (1 or 0; -1 when the key holds something else), retryAfterMs } for each take, flat. The
 * same arithmetic as `TokenBuckets.take`; a key expires once its bucket would have refilled, when a
 * fresh one decides the same. One call carries every take of an event-loop turn: a script call per
 * send cost more than the bucket.
 */
const take = `${NOW}
local out = {}
for i, key in ipairs(KEYS) do
  local ok, retry = -1, 0
  local b = redis.pcall('HMGET', key, 'tokens', 'at')
  if not b.err then
    local rate = tonumber(ARGV[i])
    local burst = math.max(1, rate)
    local tokens = tonumber(b[1]) or burst
    local at = tonumber(b[2]) or now
    tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
    at = math.max(at, now)
    if tokens >= 1 then
      tokens = tokens - 1
      ok = 1
    else
      ok = 0
      retry = math.max(1, math.ceil((1 - tokens) / rate * 1000))
    end
    redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
    redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + 1000)
  end
  out[#out + 1] = ok
  out[#out + 1] = retry
end
return out`

/** ARGV: channel, payload, channel, payload, … → the number of payloads published. */
const publish = `for i = 1, #ARGV, 2 do
  redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
end
return #ARGV / 2`

/**
 * Items (takes, payloads) per call of the batched scripts at most: bounds how long one call keeps
 * Redis, which runs one script at a time, busy.
 */
export const MAX_ITEMS_PER_CALL = 500

type Reply<T> = Promise<T>

/** Typed calls of the scripts above (ioredis adds them as methods, using EVALSHA when it can). */
export interface Scripts {
  panHeartbeat: (replicas: string, replica: string, leaseMs: number) => Reply<[number, ...string[]]>
  panPresenceAdd: (pc: string, pu: string, rp: string, field: string, entry: string, user: string, member: string) => Reply<number>
  panPresenceRemove: (pc: string, pu: string, prefix: string, field: string, user: string, member: string) => Reply<number>
  panAcquire: (cn: string, rc: string, prefix: string, conn: string, max: number, member: string, replica: string) => Reply<number>
  panRelease: (cn: string, st: string, prefix: string, conn: string, member: string, user: string) => Reply<number>
  panReap: (replicas: string, rp: string, rc: string, st: string, prefix: string, dead: string, force: '0' | '1') => Reply<string[] | null>
  panPresenceList: (pc: string, st: string) => Reply<[string[], Array<string | null>]>
  /** `numberOfKeys` first, then the bucket keys, then their rates. */
  panTake: (numberOfKeys: number, ...keysThenRates: Array<string | number>) => Reply<number[]>
  /** Channels and payloads, alternating. */
  panPublish: (...channelsAndPayloads: string[]) => Reply<number>
}

const definitions = {
  panHeartbeat: { numberOfKeys: 1, lua: heartbeat },
  panPresenceAdd: { numberOfKeys: 3, lua: presenceAdd },
  panPresenceRemove: { numberOfKeys: 2, lua: presenceRemove },
  panAcquire: { numberOfKeys: 2, lua: acquire },
  panRelease: { numberOfKeys: 2, lua: release },
  panReap: { numberOfKeys: 4, lua: reap },
  panPresenceList: { numberOfKeys: 2, lua: presenceList },
  panTake: { lua: take },
  panPublish: { numberOfKeys: 0, lua: publish }
} satisfies Record<keyof Scripts, { numberOfKeys?: number, lua: string }>

/** Defines the scripts on `redis` and returns it typed with them. */
export function defineScripts (redis: Redis): Redis & Scripts {
  for (const [name, definition] of Object.entries(definitions)) redis.defineCommand(name, definition)
  // defineCommand adds the methods at run time; ioredis's types cannot know their names.
  return redis as Redis & Scripts
}
