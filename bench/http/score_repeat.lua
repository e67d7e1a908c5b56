-- wrk script: a lead mix where 90% of requests repeat one of 200 "hot" leads (all with
-- consent, so cacheable) and 10% are fresh leads; for cache on/off comparisons.
-- Usage: wrk -t2 -c16 -d5s -s bench/http/score_repeat.lua http://127.0.0.1:8000
-- Env: LEADSCORE_KEY (API key; default "bench-key"), LEADSCORE_REPEAT (default 0.9).
local key = os.getenv("LEADSCORE_KEY") or "bench-key"
local repeat_share = tonumber(os.getenv("LEADSCORE_REPEAT") or "0.9")
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
local cities = {"Mumbai", "Pune", "Bengaluru", "Hyderabad", "Delhi NCR", "Chennai"}
local hot = {}
local n = 0

local function make_lead(id)
  local attempted = math.random(0, 12)
  return string.format(
    '{"lead_id":"%s","source":"99acres","city":"%s","transaction_type":"Buy",' ..
    '"property_type":"Apartment","bhk":%d,"budget_lakh":%d,"loan_preapproved":%s,' ..
    '"site_visit_scheduled":%s,"calls_attempted":%d,"calls_answered":%d,"whatsapp_replies":%d,' ..
    '"page_views":%d,"time_on_site_s":%.1f,"days_since_enquiry":%d,"consent":true}',
    id, cities[math.random(#cities)], math.random(1, 5), math.random(30, 500),
    (math.random() < 0.5) and "true" or "false", (math.random() < 0.3) and "true" or "false",
    attempted, math.random(0, math.min(attempted, 3)), math.random(0, 20), math.random(1, 200),
    math.random() * 3000, math.random(0, 90))
end

function init(args)
  math.randomseed(42)  -- same hot set in every thread
  for i = 1, 200 do hot[i] = make_lead("H-" .. i) end
  math.randomseed(os.time() + math.random(1, 1000000))
end

function request()
  n = n + 1
  local body
  if math.random() < repeat_share then body = hot[math.random(#hot)]
  else body = make_lead("F-" .. n .. "-r" .. math.random(1, 99999)) end  -- no 10-digit runs: those look like phones (422)
  return wrk.format("POST", "/v1/score", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.0f p50_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
