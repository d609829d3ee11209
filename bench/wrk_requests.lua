-- wrk script: POSTs pre-signed Twilio webhook bodies from a file, one per line as
-- "<X-Twilio-Signature>\t<form body>", split between wrk threads so no two threads send the
-- same line. Prints a BENCH {...} JSON line with p50/p95/p99 at the end.
-- usage: wrk ... -s bench/wrk_requests.lua URL -- FILE THREADS [SKIP]
-- SKIP lines at the start of FILE are left out (what an earlier round already sent).
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local reqs = {}
local counter = 0

function init(args)
  local n = tonumber(args[2]) or 1
  local skip = tonumber(args[3]) or 0
  local i = 0
  for line in io.lines(args[1]) do
    if i >= skip and i % n == id then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", wrk.path, {
        ["X-Twilio-Signature"] = line:sub(1, tab - 1),
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }, line:sub(tab + 1))
    end
    i = i + 1
  end
  if #reqs == 0 then
    -- Fewer lines than threads (the duplicate run): every thread sends the first line.
    for line in io.lines(args[1]) do
      local tab = line:find("\t", 1, true)
      reqs[1] = wrk.format("POST", wrk.path, {
        ["X-Twilio-Signature"] = line:sub(1, tab - 1),
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }, line:sub(tab + 1))
      break
    end
  end
end

function request()
  counter = counter + 1
  return reqs[((counter - 1) % #reqs) + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
