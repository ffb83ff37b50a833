-- wrk script for bench/data: PUT /data/v1/tables/<table>/rows/<key> with a distinct key per
-- request (a run prefix, wrk's thread number and a counter) and a ~100-byte JSON value.
-- Configured through the environment: BENCH_TABLE, BENCH_TOKEN, BENCH_PREFIX.
local table_name = os.getenv("BENCH_TABLE") or "bench"
local token = os.getenv("BENCH_TOKEN") or ""
local prefix = os.getenv("BENCH_PREFIX") or "r"
local threads = 0
local counter = 0
local tid = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  wrk.method = "PUT"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

-- ~100 bytes of JSON: the counter makes each value differ a little, as real rows do.
local pad = string.rep("x", 40)

function request()
  counter = counter + 1
  local key = prefix .. "-" .. tid .. "-" .. counter
  local body = '{"user":"' .. key .. '","score":' .. counter .. ',"tags":["a","b"],"note":"' .. pad .. '"}'
  return wrk.format(nil, "/data/v1/tables/" .. table_name .. "/rows/" .. key, nil, body)
end

-- One JSON line for run.mjs (wrk's own text report is printed before it).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
