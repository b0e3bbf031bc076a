-- wrk script: POST /step with a plausible action mix on the server's default episode,
-- and a POST /reset every RESET_EVERY requests per connection-thread (0 disables), so the
-- episode keeps running instead of answering "episode_already_done" forever.
local reset_every = tonumber(os.getenv("RESET_EVERY") or "16")
local headers = { ["Content-Type"] = "application/json" }
local actions = {
  '{"action_type": "list_services"}',
  '{"action_type": "read_logs", "service": "database"}',
  '{"action_type": "query_metrics", "service": "order_service"}',
  '{"action_type": "inspect_dependencies", "service": "api_gateway"}',
  '{"action_type": "diagnose", "service": "database", "diagnosis": "disk_full"}',
  '{"action_type": "verify_health", "service": "user_service"}',
}
local requests = {}
local reset
local counter = 0

function init(args)
  for i, body in ipairs(actions) do
    requests[i] = wrk.format("POST", "/step", headers, body)
  end
  reset = wrk.format("POST", "/reset", headers, '{"task_id": "hard_task", "seed": 7}')
end

function request()
  counter = counter + 1
  if reset_every > 0 and counter % reset_every == 0 then
    return reset
  end
  return requests[(counter % #requests) + 1]
end

-- Count non-200 answers so a broken server cannot pass as a fast one.
local bad = 0
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("non-2xx/3xx: %d, socket errors: connect %d read %d write %d timeout %d\n",
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
  io.write(string.format("RESULT requests_per_sec=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max))
end
