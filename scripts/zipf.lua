-- wrk script: GET requests over a list of paths with a Zipf(1.0)
-- popularity (rank k is requested with probability proportional to 1/k),
-- the shape of real web traffic. The ranks are a fixed shuffle of the list,
-- so every thread (and every run) agrees on which pages are popular.
--
--   wrk -t2 -c64 -d30s -s scripts/zipf.lua http://127.0.0.1:8080 -- paths.txt
--
-- At the end one line `WRK {json}` summarises requests, errors and latency.

local paths = {}
local cdf = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(42)
  for i = #paths, 2, -1 do
    local j = math.random(i)
    paths[i], paths[j] = paths[j], paths[i]
  end
  local total = 0
  for k = 1, #paths do
    total = total + 1 / k
    cdf[k] = total
  end
  for k = 1, #paths do cdf[k] = cdf[k] / total end
  -- Different draws per thread from here on.
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000003)
end

function request()
  local r = math.random()
  local lo, hi = 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < r then lo = mid + 1 else hi = mid end
  end
  return wrk.format("GET", paths[lo])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "non_2xx_3xx": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
