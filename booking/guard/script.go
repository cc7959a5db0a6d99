package guard

// The scripts take the KEYS built by attemptKeys and the ARGV built by Config.args:
//
//	KEYS  1-5 the card: fails, lock, total, hardlock, backoff
//	      6-8 the city: fails, attack, the day's history hash
//	     9-11 the platform: the same
//	      then nIP groups of five IP keys (tenant scope, then global): short, daily, stepup,
//	      cards, block; then nNet groups of two subnet keys: fails, stepup
//	ARGV  1 card soft limit     2 soft window ms    3 soft lock ms
//	      4 card hard limit     5 hard window ms    6 hard lock ttl ms (0 = none)
//	      7 back-off base ms (0 = off)              8 back-off from the n-th failure
//	      9 ip short limit     10 short window ms  11 short step-up ms
//	     12 ip daily limit     13 daily window ms
//	     14 spray limit        15 spray window ms  16 spray block ms
//	     17 subnet limit       18 subnet window ms 19 subnet step-up ms
//	     20 city limit in force (its baseline)     21 city window ms   22 city attack ms
//	     23 nIP                24 nNet             25 proof of work given (0|1)
//	     26 set member for the spray sets (the card hash)
//	     27 platform limit in force                28 platform attack ms
//	     29 the attempt's window (history field)   30 history TTL ms
//
// Check and Attempt reply {allowed 0|1, reason, retry-after ms, step-up 0|1, soft lock fired,
// hard lock fired, spray block fired, city attack fired (0|1 each), failures since the last
// success, then the same four decision fields for the next attempt should this one fail, then
// platform attack fired (0|1)}.
// Running in Redis makes each attempt atomic: the decision and the count are one step, so
// concurrent attempts are judged one after the other and a threshold fires exactly once. All
// keys of one call must live on one node, which holds for the standalone and Sentinel
// deployments (not for Redis Cluster, where the card and IP keys hash to different slots).
const luaCommon = `
local A = {}
for i = 1, 25 do A[i] = tonumber(ARGV[i]) end
for i = 27, 30 do A[i] = tonumber(ARGV[i]) end
local member = ARGV[26]
local nip, nnet = A[23], A[24]
local ipbase, netbase = 12, 12 + 5 * A[23]

local function incr_window(key, ms)
  local n = redis.call('INCR', key)
  if n == 1 or redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ms)
  end
  return n
end

-- remaining returns the lock's TTL in ms, def when it exists without a TTL, or nil when absent.
local function remaining(key, def)
  local p = redis.call('PTTL', key)
  if p == -2 then return nil end
  if p < 0 then return def end
  return p
end

local function decide()
  local reason = ''
  local retry = 0
  local function refuse(r, ms)
    if ms == nil then return end
    if reason == '' then reason = r end
    if ms > retry then retry = ms end
  end
  for g = 0, nip - 1 do
    local base = ipbase + 5 * g
    refuse('ip_blocked', remaining(KEYS[base + 4], A[16]))
    if tonumber(redis.call('GET', KEYS[base + 1]) or '0') >= A[12] then
      refuse('ip_limit', remaining(KEYS[base + 1], A[13]))
    end
  end
  refuse('card_locked', remaining(KEYS[2], A[3]))
  refuse('card_throttled', remaining(KEYS[5], A[3]))
  if redis.call('EXISTS', KEYS[4]) == 1 then
    -- A hard lock outranks everything and has no end the citizen can wait for.
    reason = 'card_hard_locked'
    retry = 0
  end
  local stepup = redis.call('EXISTS', KEYS[7], KEYS[10])
  if stepup > 1 then stepup = 1 end
  for g = 0, nip - 1 do
    if redis.call('EXISTS', KEYS[ipbase + 5 * g + 2]) == 1 then stepup = 1 end
  end
  for g = 0, nnet - 1 do
    if redis.call('EXISTS', KEYS[netbase + 2 * g + 1]) == 1 then stepup = 1 end
  end
  local allowed = 1
  if reason ~= '' then allowed = 0 end
  return allowed, reason, retry, stepup
end
`

// luaCheck only reads; it is a script so that the decision sees one consistent state.
const luaCheck = luaCommon + `
local allowed, reason, retry, stepup = decide()
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
return {allowed, reason, retry, stepup, 0, 0, 0, 0, total, allowed, reason, retry, stepup, 0}
`

// luaAttempt decides on one attempt and, when it may proceed, counts it as a failure on every
// layer before the caller judges it (a success gives the count back: luaGiveBack). A refused
// attempt counts nowhere.
const luaAttempt = luaCommon + `
local allowed, reason, retry, stepup = decide()
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
if allowed == 0 then
  return {0, reason, retry, stepup, 0, 0, 0, 0, total, 0, reason, retry, stepup, 0}
end
if stepup == 1 and A[25] == 0 then
  return {0, 'step_up_required', 0, 1, 0, 0, 0, 0, total, 0, 'step_up_required', 0, 1, 0}
end
local fired_soft, fired_hard, fired_spray, fired_attack = 0, 0, 0, 0

-- Card: failures since the last success (sliding expiry) and in the soft window.
total = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], A[5])
local fails = incr_window(KEYS[1], A[2])

local hard = redis.call('EXISTS', KEYS[4]) == 1
if not hard and total >= A[4] then
  if A[6] > 0 then
    redis.call('SET', KEYS[4], '1', 'PX', A[6])
  else
    redis.call('SET', KEYS[4], '1')
  end
  hard = true
  fired_hard = 1
end
if not hard then
  if fails >= A[1] and redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SET', KEYS[2], '1', 'PX', A[3])
    -- The next soft lock needs a full set of new failures; the hard counter keeps going.
    redis.call('DEL', KEYS[1])
    fired_soft = 1
  elseif A[7] > 0 and total >= A[8] then
    local d = A[7] * 2 ^ math.min(total - A[8], 40)
    if d > A[3] then d = A[3] end
    redis.call('SET', KEYS[5], '1', 'PX', math.floor(d))
  end
end

-- The city and platform spikes are counted when a guess is judged wrong (luaFail), not here:
-- logins in flight are not failures, and a crowd of citizens logging in at once must not put
-- their city under attack.
local fired_platform = 0

-- Client IP, per tenant and globally: failure counts for step-up and the daily limit,
-- distinct cards for spray.
for g = 0, nip - 1 do
  local base = ipbase + 5 * g
  if incr_window(KEYS[base], A[10]) >= A[9] and redis.call('PTTL', KEYS[base + 2]) < A[11] then
    redis.call('SET', KEYS[base + 2], '1', 'PX', A[11])
  end
  incr_window(KEYS[base + 1], A[13])
  -- Once blocked, stop growing the set: the block is what matters and memory stays bounded.
  if redis.call('EXISTS', KEYS[base + 4]) == 0 then
    redis.call('SADD', KEYS[base + 3], member)
    if redis.call('PTTL', KEYS[base + 3]) == -1 then
      redis.call('PEXPIRE', KEYS[base + 3], A[15])
    end
    if redis.call('SCARD', KEYS[base + 3]) >= A[14] then
      redis.call('SET', KEYS[base + 4], '1', 'PX', A[16])
      redis.call('DEL', KEYS[base + 3])
      fired_spray = 1
    end
  end
end

-- Subnets (IPv4 /24; IPv6 /56 and /48), across all tenants: step-up for the whole subnet.
for g = 0, nnet - 1 do
  local base = netbase + 2 * g
  if incr_window(KEYS[base], A[18]) >= A[17] and redis.call('PTTL', KEYS[base + 1]) < A[19] then
    redis.call('SET', KEYS[base + 1], '1', 'PX', A[19])
  end
end

local a2, r2, t2, s2 = decide()
return {1, '', 0, stepup, fired_soft, fired_hard, fired_spray, fired_attack, total, a2, r2, t2, s2, fired_platform}
`

// luaFail counts a guess judged wrong in its city's and the platform's spike windows and
// history (KEYS and ARGV as for luaAttempt): a failure past the scope's limit in force puts it
// under attack. The failure joins the history unless the scope is under attack already (a long
// attack cannot raise its own bar). Replies {city attack fired, platform attack fired}.
const luaFail = luaCommon + `
local function spike(k, limit, attack_ms)
  local under = redis.call('EXISTS', KEYS[k + 1]) == 1
  if not under then
    redis.call('HINCRBY', KEYS[k + 2], ARGV[29], 1)
    if redis.call('PTTL', KEYS[k + 2]) == -1 then redis.call('PEXPIRE', KEYS[k + 2], A[30]) end
  end
  if incr_window(KEYS[k], A[21]) >= limit and not under then
    redis.call('SET', KEYS[k + 1], '1', 'PX', attack_ms)
    return 1
  end
  return 0
end
return {spike(6, A[20], A[22]), spike(9, A[27], A[28])}
`

// luaGiveBack returns the count of an attempt that succeeded (ARGV[8] '1'): it resets the
// card's failure counters and back-off (a success resets them), lifts a lock that this very
// attempt imposed, and takes the attempt off the IP and subnet counters, which count failures
// only (the city and platform count judged failures only: luaFail). For an attempt that was never judged (ARGV[8] '0': the
// database could not be asked) it takes just this attempt off the card's counters instead of
// resetting them; a back-off it started stays. KEYS as for luaAttempt; ARGV: 1 nIP, 2 nNet,
// 3 member, 4 soft fired, 5 hard fired, 6 spray fired, 7 the attempt's window (unused),
// 8 judged.
const luaGiveBack = `
local nip, nnet = tonumber(ARGV[1]), tonumber(ARGV[2])
local member = ARGV[3]
local function decr(key)
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
if ARGV[8] == '1' then
  redis.call('DEL', KEYS[1], KEYS[3], KEYS[5])
else
  decr(KEYS[1])
  decr(KEYS[3])
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[2]) end
if ARGV[5] == '1' then redis.call('DEL', KEYS[4]) end
for g = 0, nip - 1 do
  local base = 12 + 5 * g
  decr(KEYS[base])
  decr(KEYS[base + 1])
  redis.call('SREM', KEYS[base + 3], member)
  if ARGV[6] == '1' then redis.call('DEL', KEYS[base + 4]) end
end
for g = 0, nnet - 1 do
  decr(KEYS[12 + 5 * nip + 2 * g])
end
return 1
`
