-- wrk script for bench/ingress.sh. With REQUESTS_FILE set, each request is the next pre-signed
-- Guesty delivery of that file (with WRK_THREADS threads, thread k takes lines k, k+n, …, so no
-- two requests share an id); without it, a plain POST of a small JSON body (for the empty route).
-- Prints one line: RESULT requests/s p50_ms p99_ms requests errors (errors include any status >= 400).
local requests = {}
local index = 0
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local count = tonumber(os.getenv("WRK_THREADS") or "1")
  local file = os.getenv("REQUESTS_FILE")
  if file and file ~= "" then
    local n = 0
    for line in io.lines(file) do
      if n % count == (thread_id or 0) then
        local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
        requests[#requests + 1] = wrk.format("POST", nil, {
          ["Content-Type"] = "application/json", ["svix-id"] = id, ["svix-timestamp"] = ts, ["svix-signature"] = sig,
        }, body)
      end
      n = n + 1
    end
  end
end

function request()
  if #requests == 0 then
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"event":"reservation.new"}')
  end
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, errors))
end
