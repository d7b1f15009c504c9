-- wrk script for bench/load.py: POST /api/requests with prepared submissions, each once.
-- Arguments (after `--`): the file of prepared requests (one per line: cookie, CSRF token and
-- JSON body, tab-separated) and the number of wrk threads. Thread i sends lines i+1, i+1+n, …
-- done() prints one JSON line with the figures (latencies in microseconds).

local created = 0

function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
end

function init(args)
  prepared, threads = {}, tonumber(args[2])
  for line in io.lines(args[1]) do
    local cookie, csrf, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Cookie"] = cookie, ["X-CSRF-Token"] = csrf, ["Content-Type"] = "application/json" }
    prepared[#prepared + 1] = wrk.format("POST", "/api/requests", headers, body)
  end
  following = thread_index + 1
end

function request()
  if following > #prepared then -- ran out: start over (bench/load.py reports it)
    following = thread_index + 1
  end
  local prepared_request = prepared[following]
  following = following + threads
  return prepared_request
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"socket_errors":%d,"http_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
