-- wrk script: POST /v1/score with varied, realistic single leads (not one repeated body).
-- Usage: wrk -t2 -c64 -d10s -s bench/http/score.lua http://127.0.0.1:8000
-- Env: LEADSCORE_KEY (API key; default "bench-key"); BENCH_CONSENT=all makes every lead
-- consent (so every request is pushed to the CRM when the server has --crm-url).
local sources = {"99acres", "MagicBricks", "Housing.com", "NoBroker", "Facebook Ads", "Google Ads",
                 "Website", "Walk-in", "Referral", "WhatsApp"}
local cities = {"Mumbai", "Pune", "Bengaluru", "Hyderabad", "Delhi NCR", "Chennai", "Ahmedabad", "Kolkata"}
local localities = {"Andheri West", "Powai", "Thane West", "Baner", "Hinjewadi", "Whitefield",
                    "Gachibowli", "Sector 62", "Velachery", "Satellite", "Salt Lake"}
local ptypes = {"Apartment", "Villa", "Independent House", "Plot", "Studio"}
local budgets = {"90L", "1.2 cr", "75", "80 lakh - 1 crore", "₹1,20,00,000", "45 lakh", "2.5 Cr", "60L"}
local outcomes = {"Connected - interested", "Callback requested", "Not interested", "Busy", "No answer"}
local stages = {"New", "Contacted", "Qualified", "Site visit", "Negotiation"}
local notes = {
  "Looking for 2BHK ready to move near metro, wants site visit this weekend",
  "Investor, wants rental yield above 3 percent, resale ok",
  "bhai 3bhk chahiye jaldi, loan approved hai",
  "Just browsing, call after Diwali",
  "NRI buyer, needs video walkthrough and possession within 6 months",
}

local bodies = {}
local key = os.getenv("LEADSCORE_KEY") or "bench-key"
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}

local function pick(t) return t[math.random(#t)] end
local function bool() if math.random() < 0.5 then return "true" else return "false" end end
local all_consent = os.getenv("BENCH_CONSENT") == "all"
local function consent() if all_consent then return "true" else return bool() end end

local function make_lead(i)
  local attempted = math.random(0, 12)
  return string.format(
    '{"lead_id":"B-%d","source":"%s","city":"%s","locality":"%s","transaction_type":"%s",' ..
    '"property_type":"%s","bhk":%d,"budget_lakh":"%s","sale_type":"%s","loan_preapproved":%s,' ..
    '"purpose":"%s","site_visit_scheduled":%s,"site_visits_done":%d,"calls_attempted":%d,' ..
    '"calls_answered":%d,"last_call_outcome":"%s","whatsapp_replies":%d,"email_opens":%d,' ..
    '"page_views":%d,"time_on_site_s":%.1f,"days_since_enquiry":%d,"first_response_min":%.1f,' ..
    '"pipeline_stage":"%s","notes":"%s","consent":%s}',
    i, pick(sources), pick(cities), pick(localities), (math.random() < 0.8) and "Buy" or "Rent",
    pick(ptypes), math.random(1, 5), pick(budgets), (math.random() < 0.6) and "New booking" or "Resale",
    bool(), (math.random() < 0.7) and "Self-use" or "Investment", bool(), math.random(0, 4),
    attempted, math.random(0, attempted), pick(outcomes), math.random(0, 20), math.random(0, 10),
    math.random(1, 200), math.random() * 3000, math.random(0, 90), math.random() * 600,
    pick(stages), pick(notes), consent())
end

function init(args)
  math.randomseed(os.time() + math.random(1, 1000000))
  for i = 1, 2000 do bodies[i] = make_lead(i) end
  idx = math.random(1, #bodies)
end

function request()
  idx = idx % #bodies + 1
  return wrk.format("POST", "/v1/score", headers, bodies[idx])
end

function response(status, hdrs, body)
  if status ~= 200 then
    errors = (errors or 0) + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.0f p50_us=%d p99_us=%d p999_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
