-- wrk script for bench/wrk.py: sends prepared requests, each once, in order.
-- Arguments (after `--`): the file of prepared requests (one per line, tab-separated: method,
-- path, headers as "Name: value" joined by \031 (decimal in Lua: the unit separator, 0x1f),
-- body), the rate (requests/s on a fixed schedule; 0: as fast as answered) and a file to write
-- each 201's request id and wall time to ("": none). Runs in one wrk thread. done() prints one
-- JSON line with the figures (latencies in µs); answers of 300 or more are counted by status.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } submit_timespec;
int clock_gettime(int clock_id, submit_timespec *now);
]])
local clock = ffi.new("submit_timespec")

local function wall_time()
  ffi.C.clock_gettime(0, clock) -- CLOCK_REALTIME: the benchmark compares it with time.time()
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  prepared, following = {}, 1
  for line in io.lines(args[1]) do
    local method, path, joined, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    for name, value in joined:gmatch("([^:\031]+): ([^\031]*)") do
      headers[name] = value
    end
    prepared[#prepared + 1] = wrk.format(method, path, headers, body ~= "" and body or nil)
  end
  rate, scheduled, refused = tonumber(args[2]) or 0, 0, {}
  if args[3] and args[3] ~= "" then
    answers = assert(io.open(args[3], "w"))
    answers:setvbuf("line") -- the benchmark reads the file while the run goes on
  end
end

-- Called before each request a free connection sends: on a schedule, it waits for the next slot.
function delay()
  if rate <= 0 then
    return 0
  end
  if first_slot == nil then
    first_slot = wall_time()
  end
  local wait = first_slot + scheduled / rate - wall_time()
  scheduled = scheduled + 1
  return wait > 0 and wait * 1000 or 0
end

function request()
  if following > #prepared then -- ran out: start over (the benchmark reports it)
    following = 1
  end
  local prepared_request = prepared[following]
  following = following + 1
  return prepared_request
end

function response(status, headers, body)
  if status >= 300 then -- counted by status; the first few shown on stderr
    local key = tostring(status)
    refused[key] = (refused[key] or 0) + 1
    if refused[key] <= 3 then
      io.stderr:write(string.format("%d %s\n", status, body:sub(1, 300)))
    end
  elseif answers and status == 201 then
    local request_id = body:match('"request_id"%s*:%s*"(%x+)"')
    if request_id then
      answers:write(string.format("%s\t%.6f\n", request_id, wall_time()))
    end
  end
end

function done(summary, latency, requests)
  local e, statuses = summary.errors, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("refused")) do
      statuses[#statuses + 1] = string.format('"%s":%d', status, count)
    end
  end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"socket_errors":%d,"http_errors":%d,"refused":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status,
    table.concat(statuses, ",")))
end
