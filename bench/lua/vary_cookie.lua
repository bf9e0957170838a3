-- wrk script of the vary-by-cookie case: every request carries analytics cookies that change on every request
-- around the cookie the cache varies on, like a site with Google Analytics whose users are at one of three levels:
--   Cookie: _ga=GA1.2.<random>.<time>; user_id=<anonymous|member|staff>; _gid=GA1.2.<random>.<time>
-- A cache keyed on the whole Cookie header would never hit; one keyed on user_id holds three entries.
--   wrk ... -s bench/lua/vary_cookie.lua http://127.0.0.1:P/vary

local levels = { "anonymous", "member", "staff" }
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  local cookie = string.format("_ga=GA1.2.%d.%d; user_id=%s; _gid=GA1.2.%d.%d",
    math.random(100000000, 999999999), math.random(1500000000, 1800000000), levels[math.random(1, 3)],
    math.random(100000000, 999999999), math.random(1500000000, 1800000000))
  return wrk.format(nil, nil, { ["Cookie"] = cookie })
end
