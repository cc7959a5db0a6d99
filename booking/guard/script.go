package guard

// The scripts take the KEYS built by attemptKeys (5 card keys, then 0 or 2 groups of 5 IP
// keys) and the ARGV built by Config.args:
//
//	 1 card soft limit     2 soft window ms    3 soft lock ms
//	 4 card hard limit     5 hard window ms    6 hard lock ttl ms (0 = none)
//	 7 back-off base ms (0 = off)              8 back-off from the n-th failure
//	 9 ip short limit     10 short window ms  11 short step-up ms
//	12 ip long limit      13 long window ms   14 long step-up ms
//	15 spray limit        16 spray window ms  17 spray block ms
//	18 set member for the spray sets (the card hash)
//
// Both reply {allowed 0|1, reason, retry-after ms, step-up 0|1, soft lock fired 0|1,
// hard lock fired 0|1, spray block fired 0|1, failures since last success}.
// Running in Redis makes each attempt atomic: concurrent attempts never lose an increment
// and a threshold fires exactly once. All keys of one call must live on one node, which holds
// for the standalone and Sentinel deployments (not for Redis Cluster, where the card and IP
// keys hash to different slots).
const luaCommon = `
local A = {}
for i = 1, 17 do A[i] = tonumber(ARGV[i]) end
local member = ARGV[18]

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
  for base = 6, #KEYS, 5 do
    refuse('ip_blocked', remaining(KEYS[base + 4], A[17]))
  end
  refuse('card_locked', remaining(KEYS[2], A[3]))
  refuse('card_throttled', remaining(KEYS[5], A[3]))
  if redis.call('EXISTS', KEYS[4]) == 1 then
    -- A hard lock outranks everything and has no end the citizen can wait for.
    reason = 'card_hard_locked'
    retry = 0
  end
  local stepup = 0
  for base = 6, #KEYS, 5 do
    if redis.call('EXISTS', KEYS[base + 2]) == 1 then stepup = 1 end
  end
  local allowed = 1
  if reason ~= '' then allowed = 0 end
  return allowed, reason, retry, stepup
end
`

// luaCheck only reads; it is a script so that the decision sees one consistent state.
const luaCheck = luaCommon + `
local allowed, reason, retry, stepup = decide()
return {allowed, reason, retry, stepup, 0, 0, 0, tonumber(redis.call('GET', KEYS[3]) or '0')}
`

// luaFail records one failed attempt on every layer and returns the resulting decision.
const luaFail = luaCommon + `
local fired_soft, fired_hard, fired_spray = 0, 0, 0

-- Card: failures since the last success (sliding expiry) and in the soft window.
local total = redis.call('INCR', KEYS[3])
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

-- Client IP, per tenant and globally: failure counts for step-up, distinct cards for spray.
for base = 6, #KEYS, 5 do
  local short = incr_window(KEYS[base], A[10])
  local long = incr_window(KEYS[base + 1], A[13])
  local want = 0
  if short >= A[9] then want = A[11] end
  if long >= A[12] and A[14] > want then want = A[14] end
  if want > 0 and redis.call('PTTL', KEYS[base + 2]) < want then
    redis.call('SET', KEYS[base + 2], '1', 'PX', want)
  end
  -- Once blocked, stop growing the set: the block is what matters and memory stays bounded.
  if redis.call('EXISTS', KEYS[base + 4]) == 0 then
    redis.call('SADD', KEYS[base + 3], member)
    if redis.call('PTTL', KEYS[base + 3]) == -1 then
      redis.call('PEXPIRE', KEYS[base + 3], A[16])
    end
    if redis.call('SCARD', KEYS[base + 3]) >= A[15] then
      redis.call('SET', KEYS[base + 4], '1', 'PX', A[17])
      redis.call('DEL', KEYS[base + 3])
      fired_spray = 1
    end
  end
end

local allowed, reason, retry, stepup = decide()
return {allowed, reason, retry, stepup, fired_soft, fired_hard, fired_spray, total}
`
