// leadscore console: load leads, score them, rerank them by a broker's intent.
// Plain JS, no build step. Talks only to this server's /v1 API.
"use strict";

const $ = (id) => document.getElementById(id);
let leads = [];          // leads as sent to the API (PII columns stripped here too)
let byId = new Map();    // lead_id -> lead
let piiFields = new Set(["name", "phone", "email"]);

const SAMPLE = [
  { lead_id: "L-1001", source: "99acres", city: "Bengaluru", locality: "Whitefield", transaction_type: "Buy", property_type: "Apartment", bhk: 3, budget_lakh: "1.4 cr", sale_type: "Resale", loan_preapproved: true, purpose: "Self-use", possession_preference: "Ready to move", site_visit_scheduled: true, site_visits_done: 1, calls_attempted: 3, calls_answered: 3, last_call_outcome: "Connected - interested", whatsapp_replies: 6, email_opens: 4, page_views: 22, time_on_site_s: 640, days_since_enquiry: 3, first_response_min: 12, pipeline_stage: "Site visit done", notes: "Wants 3BHK ready to move near ITPL, school nearby, loan sanctioned from HDFC", consent: true },
  { lead_id: "L-1002", source: "Facebook Ads", city: "Pune", locality: "Hinjewadi", transaction_type: "Buy", property_type: "Apartment", bhk: 2, budget_lakh: "75L", sale_type: "New booking", loan_preapproved: false, purpose: "Investment", possession_preference: "Under construction OK", site_visit_scheduled: false, site_visits_done: 0, calls_attempted: 4, calls_answered: 1, last_call_outcome: "Callback requested", whatsapp_replies: 1, email_opens: 0, page_views: 3, time_on_site_s: 45, days_since_enquiry: 12, first_response_min: 180, pipeline_stage: "Contacted", notes: "just checking prices, call after Diwali", consent: true },
  { lead_id: "L-1003", source: "Walk-in", city: "Mumbai", locality: "Powai", transaction_type: "Buy", property_type: "Apartment", bhk: 2, budget_lakh: "₹2,10,00,000", sale_type: "Resale", loan_preapproved: true, purpose: "Self-use", possession_preference: "Within 6 months", site_visit_scheduled: true, site_visits_done: 2, calls_attempted: 2, calls_answered: 2, last_call_outcome: "Connected - interested", whatsapp_replies: 8, email_opens: 2, page_views: 15, time_on_site_s: 420, days_since_enquiry: 1, first_response_min: 5, pipeline_stage: "Negotiation", notes: "2 BHK lake view, ready to pay token this week, family of four", consent: true },
  { lead_id: "L-1004", source: "NoBroker", city: "Hyderabad", locality: "Gachibowli", transaction_type: "Rent", property_type: "Apartment", bhk: 1, budget_lakh: "0.3", sale_type: "Resale", loan_preapproved: false, purpose: "Self-use", possession_preference: "Flexible", site_visit_scheduled: false, site_visits_done: 0, calls_attempted: 3, calls_answered: 0, last_call_outcome: "No answer", whatsapp_replies: 0, email_opens: 1, page_views: 2, time_on_site_s: 20, days_since_enquiry: 30, first_response_min: 600, pipeline_stage: "New", notes: "rent 1bhk furnished", consent: true },
  { lead_id: "L-1005", source: "Referral", city: "Delhi NCR", locality: "Sector 65 Gurgaon", transaction_type: "Buy", property_type: "Villa", bhk: 4, budget_lakh: "3.5 crore", sale_type: "New booking", loan_preapproved: true, purpose: "Self-use", possession_preference: "Within 1 year", site_visit_scheduled: true, site_visits_done: 1, calls_attempted: 2, calls_answered: 2, last_call_outcome: "Connected - interested", whatsapp_replies: 3, email_opens: 5, page_views: 11, time_on_site_s: 300, days_since_enquiry: 6, first_response_min: 30, pipeline_stage: "Qualified", notes: "villa with garden, gated community, referred by existing client", consent: true },
  { lead_id: "L-1006", source: "Google Ads", city: "Chennai", locality: "OMR", transaction_type: "Buy", property_type: "Apartment", bhk: 3, budget_lakh: "90 lakh - 1.1 crore", sale_type: "New booking", loan_preapproved: false, purpose: "Self-use", possession_preference: "Ready to move", site_visit_scheduled: false, site_visits_done: 0, calls_attempted: 1, calls_answered: 1, last_call_outcome: "Callback requested", whatsapp_replies: 2, email_opens: 1, page_views: 9, time_on_site_s: 200, days_since_enquiry: 4, first_response_min: 45, pipeline_stage: "Contacted", notes: "3 bhk ready to move chahiye, near IT corridor", consent: true },
  { lead_id: "L-1007", source: "MagicBricks", city: "Ahmedabad", locality: "SG Highway", transaction_type: "Buy", property_type: "Commercial Shop", bhk: 0, budget_lakh: "60L", sale_type: "Resale", loan_preapproved: false, purpose: "Investment", possession_preference: "Ready to move", site_visit_scheduled: false, site_visits_done: 0, calls_attempted: 5, calls_answered: 1, last_call_outcome: "Broker", whatsapp_replies: 0, email_opens: 0, page_views: 1, time_on_site_s: 10, days_since_enquiry: 20, first_response_min: 90, pipeline_stage: "Lost", notes: "shop for rental income, main road frontage", consent: true },
  { lead_id: "L-1008", source: "Housing.com", city: "Kolkata", locality: "New Town", transaction_type: "Buy", property_type: "Apartment", bhk: 2, budget_lakh: "55 lakh", sale_type: "New booking", loan_preapproved: true, purpose: "Self-use", possession_preference: "Within 1 year", site_visit_scheduled: true, site_visits_done: 0, calls_attempted: 2, calls_answered: 2, last_call_outcome: "Connected - interested", whatsapp_replies: 4, email_opens: 3, page_views: 12, time_on_site_s: 380, days_since_enquiry: 2, first_response_min: 15, pipeline_stage: "Qualified", notes: "first home, near metro, visit on Sunday", consent: true },
];

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

async function api(path, body) {
  const res = await fetch(path, body === undefined
    ? { headers: headers() }
    : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = json.error || {};
    throw new Error(`${res.status} ${e.code || ""}: ${e.message || res.statusText}${e.field ? " (" + e.field + ")" : ""}`);
  }
  return json;
}

// RFC 4180 CSV → array of objects (header row names the fields).
function parseCsv(text) {
  const rows = []; let row = []; let cell = ""; let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') { if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false; }
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); cell = ""; rows.push(row); row = [];
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  const header = (rows.shift() || []).map((h) => h.replace(/^\uFEFF/, "").trim());
  return rows.filter((r) => r.length > 1 || r[0] !== "").map((r) => {
    const o = {};
    header.forEach((h, k) => { if (r[k] !== undefined && r[k] !== "") o[h] = r[k]; });
    return o;
  });
}

// Data minimisation: personal fields never leave the browser.
function withoutPii(lead) {
  const o = {};
  for (const [k, v] of Object.entries(lead)) if (!piiFields.has(k)) o[k] = v;
  return o;
}

function setLeads(list) {
  leads = list.slice(0, 1000).map(withoutPii);
  byId = new Map(leads.map((l) => [String(l.lead_id), l]));
  $("lead-count").textContent = `${leads.length} leads loaded`;
  $("score").disabled = $("rerank").disabled = leads.length === 0;
  render(leads.map((l) => ({ lead_id: l.lead_id })));
}

function property(l) {
  if (!l) return "";
  const parts = [l.bhk ? `${l.bhk} BHK` : "", l.property_type, l.locality, l.city, l.budget_lakh ? `budget ${l.budget_lakh}` : ""];
  return parts.filter(Boolean).join(" · ");
}

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text === undefined || text === null ? "" : String(text);
  return td;
}

function fmt(x, digits) { return typeof x === "number" ? x.toFixed(digits) : ""; }

function render(results) {
  const tbody = document.querySelector("#leads tbody");
  tbody.replaceChildren();
  results.forEach((r, i) => {
    const tr = document.createElement("tr");
    tr.dataset.leadId = r.lead_id;
    tr.append(cell(r.rank || i + 1, "num"), cell(r.lead_id));
    const g = cell("");
    if (r.grade) { const b = document.createElement("span"); b.className = "grade grade-" + r.grade; b.textContent = r.grade; g.append(b); }
    tr.append(g, cell(r.score, "num"), cell(r.percentile === undefined ? "" : fmt(r.percentile, 0), "num"),
      cell(fmt(r.similarity, 3), "num"), cell(fmt(r.combined, 3), "num"), cell(property(byId.get(String(r.lead_id)))));
    const why = cell("");
    if (r.error) { why.className = "error"; why.textContent = `${r.error.code}: ${r.error.message}`; }
    else if (r.reasons) {
      const ul = document.createElement("ul"); ul.className = "reasons";
      for (const reason of r.reasons) { const li = document.createElement("li"); li.textContent = reason.text || `${reason.feature} (${fmt(reason.impact, 2)})`; ul.append(li); }
      why.append(ul);
    }
    tr.append(why);
    tbody.append(tr);
  });
}

async function score() {
  setStatus("Scoring…");
  try {
    const t0 = performance.now();
    const out = await api("/v1/score", { leads });
    const results = out.results.map((r, i) => (r.error ? { lead_id: leads[i].lead_id, error: r.error } : r));
    results.sort((a, b) => (b.intent_score ?? -1) - (a.intent_score ?? -1));
    render(results);
    setStatus(`Scored ${results.length} leads in ${(performance.now() - t0).toFixed(0)} ms, best first.`);
  } catch (e) { setStatus(e.message, true); }
}

async function rerank() {
  const intent = $("intent").value.trim();
  if (!intent) { setStatus("Type what you are looking for first.", true); return; }
  setStatus("Reranking…");
  try {
    const out = await api("/v1/rerank", {
      target_intent: intent, leads, top_k: Number($("top-k").value) || 10, weight: Number($("weight").value),
    });
    render(out.results);
    $("encoder").textContent = `encoder: ${out.encoder}${out.model ? " (" + out.model + ")" : ""}`;
    setStatus(`Top ${out.results.length} of ${leads.length} leads for “${intent}”.`);
  } catch (e) { setStatus(e.message, true); }
}

async function loadModel() {
  try {
    const m = await api("/v1/model");
    $("model").textContent = `model: ${m.version || m.model_version || "?"}`;
    const fields = (m.schema && m.schema.fields) || [];
    const pii = fields.filter((f) => f.role === "pii").map((f) => f.name);
    if (pii.length) piiFields = new Set(pii);
  } catch (e) { $("model").textContent = "model: " + e.message; }
}

$("load-sample").addEventListener("click", () => setLeads(SAMPLE));
$("csv-file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0];
  if (f) setLeads(parseCsv(await f.text()));
});
$("score").addEventListener("click", score);
$("rerank").addEventListener("click", rerank);
$("weight").addEventListener("input", () => { $("weight-out").textContent = Number($("weight").value).toFixed(2); });
$("api-key").value = sessionStorage.getItem("leadscore-key") || "";
$("api-key").addEventListener("change", () => { sessionStorage.setItem("leadscore-key", $("api-key").value); loadModel(); });
loadModel();
