/**
 * The ACD's shared state in Redis, changed only by atomic Lua scripts.
 *
 * @remarks
 * Key layout (every key starts with `P` = `<HOTLINE_KEY_PREFIX>:acd:`, src/util/redis-keys.ts; before, the
 * bare prefix, migrated at start by key-migration.ts):
 *
 * | key                      | type   | content                                                        |
 * |--------------------------|--------|----------------------------------------------------------------|
 * | `P hb:<instance>`        | string | instance heartbeat, expires after `heartbeatTtlSec`            |
 * | `P instances`            | set    | instance ids that ever started (the sweeper checks their hb)   |
 * | `P inst:<instance>:entries` | set | call ids owned by the instance                                 |
 * | `P entry:<callId>`       | hash   | queue entry: skill, priority, joinedAt, owner, state, offerId… |
 * | `P q:<skill>`            | zset   | call ids waiting for the skill, score = joinedAt               |
 * | `P q:skills`             | set    | skills that have (had) a queue                                 |
 * | `P callbacks`            | zset   | callback call ids, score = expiry time                         |
 * | `P agent:<id>`           | hash   | runtime state: state, reason, since, idleSince, offerId, callId, owner, misses, loggedIn, registered, pending, resumeState/resumeReason (a pause to return to after re-registering) |
 * | `P agents`               | set    | ids of every configured agent                                  |
 * | `P agents:wrap`          | zset   | agents in wrap-up, score = wrap-up end                         |
 * | `P offer:<offerId>`      | hash   | callId, agentId, owner, expiresAt, answered, dialString…       |
 * | `P offers:exp`           | zset   | open offers, score = lease expiry                              |
 * | `P inbox:<instance>`     | list   | offer ids waiting to be handed to the owning instance          |
 * | `P cfg:agents` / `P cfg:groups` / `P cfg:ext` | hash | admin data (JSON) and extension → agent id     |
 * | `P stats:<yyyymmdd>`     | hash   | `<counter>|<dimension>` → integer (kept 10 days)              |
 * | `P series:<yyyymmdd>`    | hash   | `<counter>|<all or line:n>|<quarter 0-95>` → integer, `queue|…` the largest queue (10 days) |
 * | `P win:<epoch minute>`   | hash   | `<counter>|<dimension>` → integer for the answer-rate controller's windows (2 h); `ended`/`talkMs` per `all` and `group:` of the agent |
 * | `P lock:dispatch`        | string | short dispatch lock (one router run at a time)                 |
 *
 * Pub/sub channels: `P wake` (something to dispatch), `P inbox:<instance>` (offers for it),
 * `P events` (agent and queue events as JSON, for consoles).
 *
 * The scripts build key names from the prefix instead of declaring them in
 * KEYS, so this layout targets a single Redis (or a primary with replicas),
 * not Redis Cluster.
 *
 * Time: every script receives `now` (epoch ms) from the caller's clock, so
 * tests can drive time; only the heartbeat TTL uses Redis' own clock.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const PRELUDE = `
local P = ARGV[1]
local NOW_S = ARGV[2]
local NOW = tonumber(NOW_S)
-- ARGV[3] is the local day (yyyymmdd) and, after a slash, the local quarter hour of NOW (0-95).
local DAY, QTR = string.match(ARGV[3], '^([^/]*)/?(%d*)$')
local function K(s) return P .. s end
local function hmap(key)
  local r = redis.call('HGETALL', key)
  local m = {}
  for i = 1, #r, 2 do m[r[i]] = r[i + 1] end
  return m
end
local function event(t)
  t.at = NOW
  redis.call('PUBLISH', K('events'), cjson.encode(t))
end
local function wake() redis.call('PUBLISH', K('wake'), '1') end
-- Counters also kept per quarter hour (series:<day>), for the whole centre and per line: the wallboard's chart.
local SERIES = {offered = true, answered = true, abandoned = true}
-- And per minute (win:<epoch minute>, 2 h): the answer-rate controller's sliding windows.
local WINDOW = {offered = true, answered = true, abandoned = true, waitAnsweredMs = true, waitAbandonedMs = true}
local function win(dims, field, by)
  local wk = K('win:' .. string.format('%d', math.floor(NOW / 60000)))
  for _, d in ipairs(dims) do redis.call('HINCRBY', wk, field .. '|' .. d, by) end
  redis.call('EXPIRE', wk, 7200)
end
local function stat(dims, field, by)
  if WINDOW[field] then win(dims, field, by) end
  local sk = K('stats:' .. DAY)
  for _, d in ipairs(dims) do redis.call('HINCRBY', sk, field .. '|' .. d, by) end
  redis.call('EXPIRE', sk, 864000)
  if SERIES[field] and QTR ~= '' then
    local qk = K('series:' .. DAY)
    for _, d in ipairs(dims) do
      if d == 'all' or string.sub(d, 1, 5) == 'line:' then redis.call('HINCRBY', qk, field .. '|' .. d .. '|' .. QTR, by) end
    end
    redis.call('EXPIRE', qk, 864000)
  end
end
-- The seat groups a queue is for: the group named like the skill (a queue target names its group,
-- which is the skill) and the expert or sub-center groups answering the line the skill is named after.
local function groups_for(skill)
  local out = {}
  local all = redis.call('HGETALL', K('cfg:groups'))
  for i = 2, #all, 2 do
    local ok, g = pcall(cjson.decode, all[i])
    if ok and type(g) == 'table' and (g.id == skill or (g.lineNumber ~= nil and g.lineNumber == skill)) then
      table.insert(out, g.id)
    end
  end
  return table.concat(out, ',')
end
-- Every counter of an entry (offered, answered, abandoned, waits) goes to the same dimensions, so a
-- seat group's row adds up: offered = answered + abandoned + the rest, whoever answered.
local function entry_dims(e)
  local d = {'all', 'skill:' .. (e.skill or '?')}
  if e.line and e.line ~= '' then table.insert(d, 'line:' .. e.line) end
  if e.groups and e.groups ~= '' then
    for g in string.gmatch(e.groups, '[^,]+') do table.insert(d, 'group:' .. g) end
  end
  return d
end
local function answered_stats(e, agentId)
  local dims = entry_dims(e)
  stat(dims, 'answered', 1)
  stat(dims, 'waitAnsweredMs', math.max(0, NOW - tonumber(e.joinedAt)))
  -- The work a group's seats did, whichever queue the call waited in (an expert taking a general call).
  if agentId and agentId ~= '' then
    local cfg = redis.call('HGET', K('cfg:agents'), agentId)
    if cfg then
      local ok, a = pcall(cjson.decode, cfg)
      if ok and type(a.groups) == 'table' then
        local by = {}
        for _, g in ipairs(a.groups) do table.insert(by, 'group:' .. g) end
        stat(by, 'handled', 1)
      end
    end
  end
end
local function set_state(id, state, reason)
  redis.call('HSET', K('agent:' .. id), 'state', state, 'reason', reason or '', 'since', NOW_S)
  event({type = 'agent', agentId = id, state = state, reason = reason or ''})
end
-- The one way back to "available": honours logout/unregister and a pause asked for during a call.
local function make_available(id, idle)
  local ak = K('agent:' .. id)
  redis.call('HDEL', ak, 'callId', 'offerId', 'owner', 'wrapUntil')
  redis.call('ZREM', K('agents:wrap'), id)
  local a = hmap(ak)
  if a.loggedIn ~= '1' then
    redis.call('HDEL', ak, 'pending', 'pendingReason')
    set_state(id, 'offline', '')
    return
  end
  if a.registered ~= '1' then
    redis.call('HDEL', ak, 'pending', 'pendingReason')
    set_state(id, 'offline', 'unregistered')
    return
  end
  if a.pending and a.pending ~= '' then
    redis.call('HDEL', ak, 'pending', 'pendingReason')
    set_state(id, a.pending, a.pendingReason or '')
    return
  end
  redis.call('HSET', ak, 'idleSince', idle)
  set_state(id, 'available', '')
  wake()
end
local function drop_entry(e)
  redis.call('ZREM', K('q:' .. e.skill), e.callId)
  redis.call('ZREM', K('callbacks'), e.callId)
  redis.call('SREM', K('inst:' .. e.owner .. ':entries'), e.callId)
  redis.call('DEL', K('entry:' .. e.callId))
end
local function delete_offer(offerId)
  redis.call('DEL', K('offer:' .. offerId))
  redis.call('ZREM', K('offers:exp'), offerId)
end
-- Put an offered entry back in the queue; missedBy remembers who let it ring out.
local function requeue(e, missedAgent)
  local ek = K('entry:' .. e.callId)
  if missedAgent then
    local m = {}
    if e.missedBy and e.missedBy ~= '' then m = cjson.decode(e.missedBy) end
    m[missedAgent] = NOW
    redis.call('HSET', ek, 'missedBy', cjson.encode(m))
  end
  redis.call('HSET', ek, 'state', 'queued')
  redis.call('HDEL', ek, 'offerId', 'agentId')
  wake()
end
-- The offer is withdrawn (caller left, agent logged out): nobody is to blame, idle time is kept.
local function withdraw_offer(offerId)
  local o = hmap(K('offer:' .. offerId))
  delete_offer(offerId)
  if o.agentId then
    local a = hmap(K('agent:' .. o.agentId))
    if a.offerId == offerId and a.state == 'ringing' then make_available(o.agentId, a.idleSince or NOW_S) end
  end
end
local function miss(agentId, limit)
  local ak = K('agent:' .. agentId)
  local n = redis.call('HINCRBY', ak, 'misses', 1)
  if n >= limit then
    redis.call('HDEL', ak, 'callId', 'offerId', 'owner')
    set_state(agentId, 'paused', 'auto-pause:no-answer')
  else
    make_available(agentId, NOW_S)
  end
end
local function callback_retry(e, maxAttempts, delayMs)
  local n = tonumber(e.cbAttempts or '0') + 1
  if n >= maxAttempts then
    stat(entry_dims(e), 'callbackExpired', 1)
    drop_entry(e)
    event({type = 'queue', callId = e.callId, skill = e.skill, change = 'callback-expired'})
  else
    redis.call('HSET', K('entry:' .. e.callId), 'cbAttempts', n, 'notBefore', NOW + delayMs)
    requeue(e, nil)
  end
end
`;

/** Enqueue: callId, skill, minLevel, priority, joinedAt, owner, line, language. */
const ENQUEUE = `
local callId, skill = ARGV[4], ARGV[5]
local ek = K('entry:' .. callId)
if redis.call('EXISTS', ek) == 1 then return 0 end
local groups = groups_for(skill)
redis.call('HSET', ek, 'callId', callId, 'skill', skill, 'minLevel', ARGV[6], 'priority', ARGV[7],
  'joinedAt', ARGV[8], 'owner', ARGV[9], 'line', ARGV[10], 'language', ARGV[11], 'state', 'queued', 'enqueuedAt', NOW_S,
  'groups', groups)
redis.call('ZADD', K('q:' .. skill), ARGV[8], callId)
redis.call('SADD', K('q:skills'), skill)
redis.call('SADD', K('inst:' .. ARGV[9] .. ':entries'), callId)
stat(entry_dims({skill = skill, line = ARGV[10], groups = groups}), 'offered', 1)
event({type = 'queue', callId = callId, skill = skill, change = 'joined'})
wake()
return 1
`;

/** Match (compare-and-set of one router decision): callId, agentId, offerId, expectIdle, expiresAt, dialString, timeoutSec. */
const MATCH = `
local callId, agentId, offerId = ARGV[4], ARGV[5], ARGV[6]
local e = hmap(K('entry:' .. callId))
if e.state ~= 'queued' then return 'entry-changed' end
if e.notBefore and tonumber(e.notBefore) > NOW then return 'entry-changed' end
if redis.call('EXISTS', K('hb:' .. e.owner)) == 0 then return 'owner-dead' end
local ak = K('agent:' .. agentId)
local a = hmap(ak)
if a.state ~= 'available' or a.loggedIn ~= '1' or a.registered ~= '1' then return 'agent-changed' end
if a.idleSince ~= ARGV[7] then return 'agent-changed' end
redis.call('HSET', K('entry:' .. callId), 'state', 'offered', 'offerId', offerId, 'agentId', agentId)
redis.call('HSET', ak, 'offerId', offerId, 'callId', callId, 'owner', e.owner)
set_state(agentId, 'ringing', '')
redis.call('HSET', K('offer:' .. offerId), 'offerId', offerId, 'callId', callId, 'agentId', agentId, 'owner', e.owner,
  'dialString', ARGV[9], 'timeoutSec', ARGV[10], 'expiresAt', ARGV[8], 'createdAt', NOW_S,
  'callback', e.callback or '', 'attempt', e.cbAttempts or '0', 'answered', '0')
redis.call('ZADD', K('offers:exp'), ARGV[8], offerId)
redis.call('RPUSH', K('inbox:' .. e.owner), offerId)
redis.call('PUBLISH', K('inbox:' .. e.owner), offerId)
return 'ok'
`;

/** The agent answered: offerId. */
const ANSWERED = `
local offerId = ARGV[4]
local o = hmap(K('offer:' .. offerId))
if not o.callId or o.answered == '1' then return 0 end
if tonumber(o.expiresAt) < NOW then return 0 end
local e = hmap(K('entry:' .. o.callId))
if e.offerId ~= offerId then return 0 end
local ak = K('agent:' .. o.agentId)
local a = hmap(ak)
if a.offerId ~= offerId or a.state ~= 'ringing' then return 0 end
redis.call('ZREM', K('offers:exp'), offerId)
redis.call('HSET', ak, 'misses', 0)
set_state(o.agentId, 'on-call', '')
if e.callback and e.callback ~= '' then
  -- the agent is connected first; the citizen is dialed next
  redis.call('HSET', K('offer:' .. offerId), 'answered', '1')
  redis.call('HSET', K('entry:' .. o.callId), 'state', 'connecting')
else
  answered_stats(e, o.agentId)
  drop_entry(e)
  redis.call('DEL', K('offer:' .. offerId))
  event({type = 'queue', callId = e.callId, skill = e.skill, change = 'answered', agentId = o.agentId})
end
return 1
`;

/** The offer failed: offerId, reason, missLimit, cbMaxAttempts, cbRetryDelayMs. */
const FAILED = `
local offerId = ARGV[4]
local o = hmap(K('offer:' .. offerId))
if not o.callId then return 0 end
delete_offer(offerId)
local e = hmap(K('entry:' .. o.callId))
local a = hmap(K('agent:' .. o.agentId))
if o.answered == '1' then
  -- a callback: the agent answered but the citizen could not be reached
  if a.offerId == offerId and a.state == 'on-call' then make_available(o.agentId, NOW_S) end
  if e.offerId == offerId then callback_retry(e, tonumber(ARGV[7]), tonumber(ARGV[8])) end
  return 1
end
if ARGV[5] == 'rejected' then
  -- the session declined the offer (e.g. its caller is leaving): nobody is to blame
  if e.offerId == offerId then requeue(e, nil) end
  if a.offerId == offerId and a.state == 'ringing' then make_available(o.agentId, a.idleSince or NOW_S) end
  return 1
end
if e.offerId == offerId then requeue(e, o.agentId) end
if a.offerId == offerId and a.state == 'ringing' then miss(o.agentId, tonumber(ARGV[6])) end
return 1
`;

/** The caller left the queue: callId, reason. */
const LEAVE = `
local callId, reason = ARGV[4], ARGV[5]
local e = hmap(K('entry:' .. callId))
if not e.callId then return 0 end
if reason == 'callback-requested' and e.callback and e.callback ~= '' then return 0 end
if e.offerId and e.offerId ~= '' then
  if e.state == 'offered' then withdraw_offer(e.offerId) else delete_offer(e.offerId) end
end
local dims = entry_dims(e)
if reason == 'abandoned' then
  stat(dims, 'abandoned', 1)
  stat(dims, 'waitAbandonedMs', math.max(0, NOW - tonumber(e.joinedAt)))
elseif reason == 'answered' then
  answered_stats(e, e.agentId)
else
  stat(dims, reason, 1)
end
drop_entry(e)
event({type = 'queue', callId = callId, skill = e.skill, change = reason, waitMs = NOW - tonumber(e.joinedAt)})
return 1
`;

/**
 * Adopt a call of a dead instance: callId, newOwner, agentId ('' when none). Its queue entry (if the
 * sweep has not dropped it yet) moves to the new owner, back to queued if it was offered; the agent it
 * talks to (if any) is on this call again, owned by the new owner, so nobody offers them another.
 * Returns {entry kept (0/1), agent on the call (0/1)}.
 */
const ADOPT = `
local callId, owner, agentId = ARGV[4], ARGV[5], ARGV[6]
local ek = K('entry:' .. callId)
local e = hmap(ek)
local entry, agent = 0, 0
if e.callId then
  if e.offerId and e.offerId ~= '' then
    if e.state == 'offered' then withdraw_offer(e.offerId) else delete_offer(e.offerId) end
    redis.call('HSET', ek, 'state', 'queued')
    redis.call('HDEL', ek, 'offerId', 'agentId')
  end
  redis.call('SREM', K('inst:' .. e.owner .. ':entries'), callId)
  redis.call('SADD', K('inst:' .. owner .. ':entries'), callId)
  redis.call('HSET', ek, 'owner', owner)
  wake()
  entry = 1
end
if agentId ~= '' then
  local ak = K('agent:' .. agentId)
  local a = hmap(ak)
  if a.state == 'on-call' and a.callId == callId then
    redis.call('HSET', ak, 'owner', owner)
    agent = 1
  elseif a.loggedIn == '1' and a.state ~= 'ringing' and a.state ~= 'on-call' then
    -- reclaimed (available, or offline when its registration was not seen again): the agent is
    -- talking on this call, so it is on-call and is offered nothing else until the call ends
    redis.call('ZREM', K('agents:wrap'), agentId)
    redis.call('HDEL', ak, 'wrapUntil', 'offerId')
    redis.call('HSET', ak, 'callId', callId, 'owner', owner)
    set_state(agentId, 'on-call', '')
    agent = 1
  end
end
return {entry, agent}
`;

/** The bridged call ended: callId, agentId, wrapMs, cbMaxAttempts, cbRetryDelayMs. */
const CALL_ENDED = `
local callId, agentId = ARGV[4], ARGV[5]
local ak = K('agent:' .. agentId)
local a = hmap(ak)
if a.state ~= 'on-call' or a.callId ~= callId then return 0 end
-- Talk time for the controller's handle-time estimate, centre-wide and per seat group of the agent.
local tdims = {'all'}
local cfg = redis.call('HGET', K('cfg:agents'), agentId)
if cfg then
  local ok, ag = pcall(cjson.decode, cfg)
  if ok and type(ag.groups) == 'table' then
    for _, g in ipairs(ag.groups) do table.insert(tdims, 'group:' .. g) end
  end
end
win(tdims, 'ended', 1)
win(tdims, 'talkMs', math.max(0, NOW - tonumber(a.since or NOW_S)))
local e = hmap(K('entry:' .. callId))
if e.state == 'connecting' and e.agentId == agentId then
  -- a callback whose citizen leg never connected: counts as a failed attempt
  if e.offerId then delete_offer(e.offerId) end
  callback_retry(e, tonumber(ARGV[7]), tonumber(ARGV[8]))
end
local wrapMs = tonumber(ARGV[6])
if wrapMs > 0 then
  redis.call('HDEL', ak, 'callId', 'offerId', 'owner')
  redis.call('HSET', ak, 'wrapUntil', NOW + wrapMs)
  redis.call('ZADD', K('agents:wrap'), NOW + wrapMs, agentId)
  set_state(agentId, 'wrap-up', '')
else
  make_available(agentId, NOW_S)
end
return 1
`;

/** The caller asks to be called back: callId, number, expiresAt. */
const REQUEST_CALLBACK = `
local callId = ARGV[4]
local e = hmap(K('entry:' .. callId))
if not e.callId or e.state == 'connecting' then return 0 end
if e.state == 'offered' and e.offerId then withdraw_offer(e.offerId) end
redis.call('HSET', K('entry:' .. callId), 'callback', ARGV[5], 'cbAttempts', 0, 'cbExpiresAt', ARGV[6], 'state', 'queued')
redis.call('HDEL', K('entry:' .. callId), 'offerId', 'agentId')
redis.call('ZADD', K('callbacks'), ARGV[6], callId)
stat(entry_dims(e), 'callbackRequested', 1)
event({type = 'queue', callId = callId, skill = e.skill, change = 'callback-requested'})
wake()
return 1
`;

/**
 * Sweep: sweeperInstance (for logs), missLimit, call-state key prefix ('' = none). Expired offers,
 * finished wrap-ups, dead instances, expired callbacks.
 */
const SWEEP = `
local limit = tonumber(ARGV[5])
local CS = ARGV[6] or ''
local changed = 0
local instances = redis.call('SMEMBERS', K('instances'))
-- a live instance to take over callbacks of dead ones (none when the last instance stops)
local live = nil
for _, inst in ipairs(instances) do
  if redis.call('EXISTS', K('hb:' .. inst)) == 1 then live = inst break end
end
for _, offerId in ipairs(redis.call('ZRANGEBYSCORE', K('offers:exp'), '-inf', NOW, 'LIMIT', 0, 200)) do
  local o = hmap(K('offer:' .. offerId))
  delete_offer(offerId)
  if o.callId then
    local e = hmap(K('entry:' .. o.callId))
    if e.offerId == offerId then requeue(e, o.agentId) end
    local a = hmap(K('agent:' .. o.agentId))
    if a.offerId == offerId and a.state == 'ringing' then miss(o.agentId, limit) end
  end
  changed = changed + 1
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K('agents:wrap'), '-inf', NOW, 'LIMIT', 0, 500)) do
  local a = hmap(K('agent:' .. id))
  if a.state == 'wrap-up' then make_available(id, a.wrapUntil or NOW_S) else redis.call('ZREM', K('agents:wrap'), id) end
  changed = changed + 1
end
for _, inst in ipairs(instances) do
  if redis.call('EXISTS', K('hb:' .. inst)) == 0 then
    local keep = false
    for _, callId in ipairs(redis.call('SMEMBERS', K('inst:' .. inst .. ':entries'))) do
      local e = hmap(K('entry:' .. callId))
      if e.callId then
        if e.offerId and e.offerId ~= '' then
          if e.state == 'offered' then withdraw_offer(e.offerId) else delete_offer(e.offerId) end
        end
        if e.callback and e.callback ~= '' then
          -- the citizen is waiting for a call back, whichever instance makes it
          redis.call('HSET', K('entry:' .. callId), 'state', 'queued')
          redis.call('HDEL', K('entry:' .. callId), 'offerId', 'agentId')
          if live then
            redis.call('HSET', K('entry:' .. callId), 'owner', live)
            redis.call('SREM', K('inst:' .. inst .. ':entries'), callId)
            redis.call('SADD', K('inst:' .. live .. ':entries'), callId)
          else
            keep = true
          end
        else
          stat(entry_dims(e), 'abandoned', 1)
          stat(entry_dims(e), 'lost', 1)
          stat(entry_dims(e), 'waitAbandonedMs', math.max(0, NOW - tonumber(e.joinedAt)))
          drop_entry(e)
          event({type = 'queue', callId = callId, skill = e.skill, change = 'lost'})
        end
      end
    end
    for _, id in ipairs(redis.call('SMEMBERS', K('agents'))) do
      local a = hmap(K('agent:' .. id))
      if a.owner == inst and a.state == 'on-call' and CS ~= '' and a.callId and redis.call('EXISTS', CS .. a.callId) == 1 then
        -- talking on a call whose state is stored: busy until an instance adopts the call (or it ends);
        -- the instance stays listed so that the next sweep looks again
        keep = true
      elseif a.owner == inst and (a.state == 'ringing' or a.state == 'on-call') then
        if a.offerId then delete_offer(a.offerId) end
        make_available(id, NOW_S)
      end
    end
    redis.call('DEL', K('inbox:' .. inst))
    if not keep then
      redis.call('DEL', K('inst:' .. inst .. ':entries'))
      redis.call('SREM', K('instances'), inst)
      event({type = 'instance', instanceId = inst, change = 'reclaimed'})
      changed = changed + 1
    end
  end
end
for _, callId in ipairs(redis.call('ZRANGEBYSCORE', K('callbacks'), '-inf', NOW, 'LIMIT', 0, 100)) do
  local e = hmap(K('entry:' .. callId))
  redis.call('ZREM', K('callbacks'), callId)
  if e.callId and e.state == 'queued' then
    stat(entry_dims(e), 'callbackExpired', 1)
    drop_entry(e)
    event({type = 'queue', callId = callId, skill = e.skill, change = 'callback-expired'})
  end
  changed = changed + 1
end
return changed
`;

/** Agent command: agentId, cmd, reason, registrationNotRequired ('1'). Returns the resulting state or an error word. */
const AGENT = `
local id, cmd, reason = ARGV[4], ARGV[5], ARGV[6]
if redis.call('HEXISTS', K('cfg:agents'), id) == 0 then return 'error:unknown-agent' end
local ak = K('agent:' .. id)
redis.call('SADD', K('agents'), id)
local a = hmap(ak)
local state = a.state or 'offline'
-- stop ringing without blaming the agent: the call goes back to the queue
local function abort_ring()
  if state == 'ringing' and a.offerId then
    local o = hmap(K('offer:' .. a.offerId))
    delete_offer(a.offerId)
    if o.callId then
      local e = hmap(K('entry:' .. o.callId))
      if e.offerId == a.offerId then requeue(e, nil) end
    end
    redis.call('HDEL', ak, 'callId', 'offerId', 'owner')
  end
end
if cmd == 'login' then
  redis.call('HSET', ak, 'loggedIn', '1', 'misses', 0)
  if ARGV[7] == '1' then redis.call('HSET', ak, 'registered', '1') end
  if state == 'offline' then make_available(id, NOW_S) end
elseif cmd == 'logout' then
  redis.call('HSET', ak, 'loggedIn', '0')
  redis.call('HDEL', ak, 'resumeState', 'resumeReason')
  if state == 'on-call' then
    redis.call('HSET', ak, 'pending', 'offline', 'pendingReason', '')
  else
    abort_ring()
    redis.call('ZREM', K('agents:wrap'), id)
    redis.call('HDEL', ak, 'wrapUntil', 'pending', 'pendingReason')
    set_state(id, 'offline', '')
  end
elseif cmd == 'available' then
  if a.loggedIn ~= '1' then return 'error:not-logged-in' end
  if a.registered ~= '1' then return 'error:unregistered' end
  redis.call('HDEL', ak, 'pending', 'pendingReason', 'resumeState', 'resumeReason')
  if state == 'paused' or state == 'offline' or state == 'wrap-up' then
    redis.call('HSET', ak, 'misses', 0)
    make_available(id, NOW_S)
  end
elseif cmd == 'paused' then
  if a.loggedIn ~= '1' then return 'error:not-logged-in' end
  redis.call('HDEL', ak, 'resumeState', 'resumeReason')
  if state == 'ringing' or state == 'on-call' then
    redis.call('HSET', ak, 'pending', 'paused', 'pendingReason', reason)
  elseif state ~= 'offline' then
    redis.call('ZREM', K('agents:wrap'), id)
    redis.call('HDEL', ak, 'wrapUntil')
    set_state(id, 'paused', reason)
  else
    return 'error:offline'
  end
elseif cmd == 'registered' then
  redis.call('HSET', ak, 'registered', '1')
  if state == 'offline' and a.loggedIn == '1' then
    if a.resumeState == 'paused' then
      -- paused (by the agent, or auto-paused after missed calls) before the softphone dropped: a
      -- re-registration is no click on 示闲; the agent stays paused with its reason until they choose
      redis.call('HDEL', ak, 'resumeState', 'resumeReason')
      set_state(id, 'paused', a.resumeReason or '')
    else
      make_available(id, NOW_S)
    end
  end
elseif cmd == 'unregistered' then
  redis.call('HSET', ak, 'registered', '0')
  if state == 'paused' then
    redis.call('HSET', ak, 'resumeState', 'paused', 'resumeReason', a.reason or '')
  elseif state == 'on-call' and a.pending == 'paused' then
    redis.call('HSET', ak, 'resumeState', 'paused', 'resumeReason', a.pendingReason or '')
  end
  if state == 'on-call' then
    redis.call('HSET', ak, 'pending', 'offline', 'pendingReason', 'unregistered')
  elseif state ~= 'offline' then
    abort_ring()
    redis.call('ZREM', K('agents:wrap'), id)
    redis.call('HDEL', ak, 'wrapUntil', 'pending', 'pendingReason')
    set_state(id, 'offline', 'unregistered')
  end
else
  return 'error:unknown-command'
end
return redis.call('HGET', ak, 'state') or 'offline'
`;

/** Queue length samples: pairs (dimension, length) for the quarter hour of NOW; each keeps the largest seen. */
const QUEUE_MAX = `
local qk = K('series:' .. DAY)
for i = 4, #ARGV - 1, 2 do
  local f = 'queue|' .. ARGV[i] .. '|' .. QTR
  local v = tonumber(ARGV[i + 1])
  if v > tonumber(redis.call('HGET', qk, f) or '0') then redis.call('HSET', qk, f, v) end
end
redis.call('EXPIRE', qk, 864000)
return 1
`;

const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const script = (body: string): LuaScript => new LuaScript(PRELUDE + body);

export const SCRIPTS = {
  enqueue: script(ENQUEUE),
  match: script(MATCH),
  answered: script(ANSWERED),
  failed: script(FAILED),
  leave: script(LEAVE),
  callEnded: script(CALL_ENDED),
  adopt: script(ADOPT),
  requestCallback: script(REQUEST_CALLBACK),
  sweep: script(SWEEP),
  agent: script(AGENT),
  queueMax: script(QUEUE_MAX),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
const UNLOCK_SCRIPT = new LuaScript(UNLOCK);

export type RawHash = Record<string, string>;

/** Runtime state of an agent as stored in Redis. */
export interface AgentRuntime {
  state: string;
  reason: string;
  since: number;
  idleSince: number;
  callId?: string;
  offerId?: string;
  owner?: string;
  misses: number;
  loggedIn: boolean;
  registered: boolean;
  pending?: string;
}

export interface EntryRecord {
  callId: string;
  skill: string;
  minLevel: number;
  priority: number;
  joinedAt: number;
  owner: string;
  line?: string;
  language?: string;
  state: 'queued' | 'offered' | 'connecting';
  offerId?: string;
  agentId?: string;
  callback?: string;
  cbAttempts: number;
  notBefore?: number;
  missedBy?: Record<string, number>;
}

export interface OfferRecord {
  offerId: string;
  callId: string;
  agentId: string;
  owner: string;
  dialString: string;
  timeoutSec: number;
  expiresAt: number;
  callback?: string;
  attempt: number;
  answered: boolean;
}

function num(v: string | undefined, d = 0): number {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) ? n : d;
}

export function parseAgentRuntime(h: RawHash): AgentRuntime {
  const r: AgentRuntime = {
    state: h.state ?? 'offline',
    reason: h.reason ?? '',
    since: num(h.since),
    idleSince: num(h.idleSince),
    misses: num(h.misses),
    loggedIn: h.loggedIn === '1',
    registered: h.registered === '1',
  };
  if (h.callId) r.callId = h.callId;
  if (h.offerId) r.offerId = h.offerId;
  if (h.owner) r.owner = h.owner;
  if (h.pending) r.pending = h.pending;
  return r;
}

export function parseEntry(h: RawHash): EntryRecord | undefined {
  if (!h.callId || !h.skill) return undefined;
  const e: EntryRecord = {
    callId: h.callId,
    skill: h.skill,
    minLevel: num(h.minLevel, 0),
    priority: num(h.priority),
    joinedAt: num(h.joinedAt),
    owner: h.owner ?? '',
    state: (h.state as EntryRecord['state']) ?? 'queued',
    cbAttempts: num(h.cbAttempts),
  };
  if (h.line) e.line = h.line;
  if (h.language) e.language = h.language;
  if (h.offerId) e.offerId = h.offerId;
  if (h.agentId) e.agentId = h.agentId;
  if (h.callback) e.callback = h.callback;
  if (h.notBefore) e.notBefore = num(h.notBefore);
  if (h.missedBy) {
    try {
      e.missedBy = JSON.parse(h.missedBy) as Record<string, number>;
    } catch {
      // a damaged field only loses the "do not re-offer to the agent who missed" hint
    }
  }
  return e;
}

export function parseOffer(h: RawHash): OfferRecord | undefined {
  if (!h.offerId || !h.callId || !h.agentId) return undefined;
  const o: OfferRecord = {
    offerId: h.offerId,
    callId: h.callId,
    agentId: h.agentId,
    owner: h.owner ?? '',
    dialString: h.dialString ?? '',
    timeoutSec: num(h.timeoutSec),
    expiresAt: num(h.expiresAt),
    attempt: num(h.attempt),
    answered: h.answered === '1',
  };
  if (h.callback) o.callback = h.callback;
  return o;
}

/**
 * Thin typed access to the ACD keys and scripts. Holds no state of its own besides the connection.
 */
export class RedisAcdStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  key(s: string): string {
    return this.prefix + s;
  }

  /** Runs a script by SHA, loading it on NOSCRIPT. `now` and `day` are the first two arguments. */
  async run(name: ScriptName, now: number, day: string, ...args: (string | number)[]): Promise<unknown> {
    const s = SCRIPTS[name];
    const argv = [this.prefix, String(Math.floor(now)), day, ...args.map(String)];
    try {
      return await this.redis.evalsha(s.sha, 0, ...argv);
    } catch (err) {
      if (err instanceof Error && err.message.includes('NOSCRIPT')) return this.redis.eval(s.source, 0, ...argv);
      throw err;
    }
  }

  async tryLock(name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.key(name), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(name: string, token: string): Promise<void> {
    try {
      await this.redis.evalsha(UNLOCK_SCRIPT.sha, 1, this.key(name), token);
    } catch (err) {
      if (err instanceof Error && err.message.includes('NOSCRIPT')) await this.redis.eval(UNLOCK_SCRIPT.source, 1, this.key(name), token);
      else throw err;
    }
  }

  async heartbeat(instanceId: string, ttlMs: number): Promise<void> {
    await this.redis.multi().set(this.key(`hb:${instanceId}`), '1', 'PX', ttlMs).sadd(this.key('instances'), instanceId).exec();
  }

  async clearHeartbeat(instanceId: string): Promise<void> {
    await this.redis.del(this.key(`hb:${instanceId}`));
  }

  /** Every queue entry (all skills, all instances). */
  async entries(): Promise<EntryRecord[]> {
    const skills = await this.redis.smembers(this.key('q:skills'));
    if (skills.length === 0) return [];
    const p = this.redis.pipeline();
    for (const s of skills) p.zrange(this.key(`q:${s}`), 0, -1);
    const ids = ((await p.exec()) ?? []).flatMap(([err, r]) => (err ? [] : (r as string[])));
    return this.entriesById(ids);
  }

  async entriesOfSkill(skill: string): Promise<EntryRecord[]> {
    return this.entriesById(await this.redis.zrange(this.key(`q:${skill}`), 0, -1));
  }

  async entry(callId: string): Promise<EntryRecord | undefined> {
    return parseEntry(await this.redis.hgetall(this.key(`entry:${callId}`)));
  }

  private async entriesById(ids: string[]): Promise<EntryRecord[]> {
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.key(`entry:${id}`));
    const out: EntryRecord[] = [];
    for (const [err, r] of (await p.exec()) ?? []) {
      const e = err ? undefined : parseEntry(r as RawHash);
      if (e) out.push(e);
    }
    return out;
  }

  /** Runtime state of the given agents (missing ones are offline). */
  async agentRuntimes(ids: string[]): Promise<Map<string, AgentRuntime>> {
    const out = new Map<string, AgentRuntime>();
    if (ids.length === 0) return out;
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.key(`agent:${id}`));
    const res = (await p.exec()) ?? [];
    ids.forEach((id, i) => {
      const [err, r] = res[i] ?? [null, {}];
      out.set(id, parseAgentRuntime(err ? {} : (r as RawHash)));
    });
    return out;
  }

  async offer(offerId: string): Promise<OfferRecord | undefined> {
    return parseOffer(await this.redis.hgetall(this.key(`offer:${offerId}`)));
  }

  /** Pops offer ids queued for this instance. */
  async popInbox(instanceId: string, max = 100): Promise<string[]> {
    const r = await this.redis.lpop(this.key(`inbox:${instanceId}`), max);
    return r ?? [];
  }

  /** The per-minute counters of the minutes `from` … `to` (epoch minutes), for sliding windows. */
  async windowHashes(from: number, to: number): Promise<Map<number, Record<string, string>>> {
    const p = this.redis.pipeline();
    for (let m = from; m <= to; m++) p.hgetall(this.key(`win:${m}`));
    const res = (await p.exec()) ?? [];
    const out = new Map<number, Record<string, string>>();
    res.forEach(([err, h], i) => {
      if (!err && h) out.set(from + i, h as Record<string, string>);
    });
    return out;
  }

  async statsHash(day: string): Promise<RawHash> {
    return this.redis.hgetall(this.key(`stats:${day}`));
  }

  /** `<counter>|<dimension>|<quarter>` → integer: offered/answered/abandoned and the largest queue per quarter hour. */
  async seriesHash(day: string): Promise<RawHash> {
    return this.redis.hgetall(this.key(`series:${day}`));
  }
}
