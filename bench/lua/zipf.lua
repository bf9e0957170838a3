-- wrk script of the many-keys case: N distinct cacheable URLs, key k (1..N) requested with probability
-- (1/k^s) / H(N, s), a Zipf distribution (s = 1: the most popular key gets about 10% of 10,000 keys' requests).
--   wrk ... -s bench/lua/zipf.lua http://127.0.0.1:P -- KEYS S PREFIX
-- requests /page?n=PREFIX-k (the origin answers public, max-age=3600). The same PREFIX across runs shares the keys.

local cdf = {}
local keys, prefix
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  keys = tonumber(args[1] or "10000")
  local s = tonumber(args[2] or "1.0")
  prefix = args[3] or "zipf"
  local total = 0
  for k = 1, keys do
    total = total + 1 / k ^ s
    cdf[k] = total
  end
  for k = 1, keys do cdf[k] = cdf[k] / total end
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

-- The smallest k with cdf[k] >= u.
local function pick(u)
  local lo, hi = 1, keys
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

function request()
  return wrk.format("GET", "/page?n=" .. prefix .. "-" .. pick(math.random()))
end
