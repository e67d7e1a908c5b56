// Contract test: starts the real `leadscore serve`, exercises every wired endpoint and error
// status, and validates each response against api/openapi.json with ajv (JSON Schema 2020-12,
// the dialect of OpenAPI 3.1).
// Usage: node contract_test.mjs <leadscore binary> [extra serve args...]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const spec = JSON.parse(readFileSync(join(root, "api", "openapi.json"), "utf8"));
const bin = process.argv[2];
if (!bin) {
  console.error("usage: node contract_test.mjs <leadscore binary> [serve args...]");
  process.exit(2);
}
const serveArgs = process.argv.slice(3);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, "openapi.json");

function resolve(obj) {
  while (obj && obj.$ref) {
    const path = obj.$ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    obj = path.reduce((o, k) => o[k], spec);
  }
  return obj;
}
function pointer(...parts) {
  return "openapi.json#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

// Sanity of the document itself: every $ref resolves.
(function checkRefs(node) {
  if (Array.isArray(node)) return node.forEach(checkRefs);
  if (node && typeof node === "object") {
    if (typeof node.$ref === "string" && !resolve({ $ref: node.$ref })) throw new Error("dangling " + node.$ref);
    Object.values(node).forEach(checkRefs);
  }
})(spec);

function findOperation(method, path) {
  for (const [tmpl, item] of Object.entries(spec.paths)) {
    const re = new RegExp("^" + tmpl.replace(/\{[^}]+\}/g, "[^/]+") + "$");
    if (re.test(path) && item[method.toLowerCase()]) return { tmpl, op: item[method.toLowerCase()] };
  }
  return null;
}

// Statuses any route may answer (documented in info.description) use the Error schema.
const GENERIC = new Set([400, 404, 405, 431, 500]);
let failures = 0;
const covered = new Set();

function validate(method, path, status, ctype, text) {
  const found = findOperation(method, path);
  const where = `${method} ${path} -> ${status}`;
  let schemaRef;
  if (found && found.op.responses[String(status)]) {
    const resp = resolve(found.op.responses[String(status)]);
    const media = Object.keys(resp.content || {});
    const mt = media.find((m) => ctype.startsWith(m));
    if (!mt) {
      failures++;
      console.error(`FAIL ${where}: content type ${ctype} not documented (${media})`);
      return;
    }
    const raw = found.op.responses[String(status)];
    schemaRef = raw.$ref
      ? pointer(...raw.$ref.replace(/^#\//, "").split("/"), "content", mt, "schema")
      : pointer("paths", found.tmpl, method.toLowerCase(), "responses", String(status), "content", mt, "schema");
    covered.add(`${method} ${found.tmpl} ${status}`);
    if (mt !== "application/json") return;
  } else if (GENERIC.has(status) || (!found && status === 405)) {
    schemaRef = pointer("components", "schemas", "Error");
  } else {
    failures++;
    console.error(`FAIL ${where}: status not documented`);
    return;
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    failures++;
    console.error(`FAIL ${where}: body is not JSON`);
    return;
  }
  const v = ajv.getSchema(schemaRef);
  if (!v) throw new Error("no schema at " + schemaRef);
  if (!v(body)) {
    failures++;
    console.error(`FAIL ${where}: ${ajv.errorsText(v.errors)}\n  body: ${text.slice(0, 400)}`);
  }
}

// Request bodies against the operation's requestBody schema: a contract that refuses what the
// server accepts (e.g. a oneOf whose branches overlap) fails here, not in a client's validator.
function requestErrors(method, path, text) {
  const found = findOperation(method, path);
  const raw = found && found.op.requestBody;
  const rb = raw && resolve(raw);
  if (!rb || !rb.content || !rb.content["application/json"]) return `${method} ${path}: no JSON requestBody`;
  const ref = raw.$ref
    ? pointer(...raw.$ref.replace(/^#\//, "").split("/"), "content", "application/json", "schema")
    : pointer("paths", found.tmpl, method.toLowerCase(), "requestBody", "content", "application/json", "schema");
  const v = ajv.getSchema(ref);
  if (!v) throw new Error("no schema at " + ref);
  return v(JSON.parse(text)) ? null : ajv.errorsText(v.errors);
}
function checkRequest(method, path, text, wantValid) {
  const errors = requestErrors(method, path, text);
  if (wantValid && errors) {
    failures++;
    console.error(`FAIL request ${method} ${path} should be valid: ${errors}\n  body: ${text.slice(0, 300)}`);
  } else if (!wantValid && !errors) {
    failures++;
    console.error(`FAIL request ${method} ${path} should be invalid\n  body: ${text.slice(0, 300)}`);
  }
}

let serverLog = "";
async function startServer() {
  const env = { ...process.env, LEADSCORE_API_KEYS: "c-score:score;c-rerank:rerank;c-admin:admin" };
  const child = spawn(bin, ["serve", "--port", "0", "--max-body-bytes", "2048", ...serveArgs], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr.on("data", (d) => {
    serverLog += d;
  });
  const port = await new Promise((res, rej) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/[0-9.]+:(\d+)/);
      if (m) res(Number(m[1]));
    });
    child.on("exit", (code) => rej(new Error("server exited " + code)));
    setTimeout(() => rej(new Error("server did not start")), 20000);
  });
  return { child, port };
}

const { child, port } = await startServer();
const base = `http://127.0.0.1:${port}`;
const J = { "Content-Type": "application/json" };
const withModel = serveArgs.includes("--model");
const lead = (i, extra = {}) =>
  JSON.stringify({ lead_id: `C-${i}`, city: "Pune", bhk: 2, budget_lakh: "90L", loan_preapproved: true,
                   site_visit_scheduled: i % 2 === 0, calls_attempted: 3, consent: true, ...extra });
const S = { Authorization: "Bearer c-score", ...J };
const R = { Authorization: "Bearer c-rerank", ...J };
const cases = [
  ["GET", "/healthz", {}, undefined, 200],
  ["GET", "/readyz", {}, undefined, withModel ? 200 : 503],
  ["GET", "/metrics", {}, undefined, 200],
  ["GET", "/openapi.json", {}, undefined, 200],
  ["GET", "/docs", {}, undefined, 200],
  ["GET", "/nope", {}, undefined, 404],
  ["DELETE", "/healthz", {}, undefined, 405],
  ["GET", "/v1/model", {}, undefined, 401],
  ["GET", "/v1/model", { "X-API-Key": "wrong" }, undefined, 401],
  ["GET", "/v1/model", { Authorization: "Bearer c-score" }, undefined, withModel ? 200 : 503],
  ["POST", "/v1/model/reload", { "X-API-Key": "c-score" }, undefined, 403],
  ["POST", "/v1/model/reload", { "X-API-Key": "c-admin" }, undefined, withModel ? 200 : 503],
  ["POST", "/v1/model/reload", { "X-API-Key": "c-admin", "Content-Type": "text/plain" }, "{}", 415],
  ["POST", "/v1/model/reload", { "X-API-Key": "c-admin", ...J }, "{oops", 400],
  ["POST", "/v1/model/reload", { "X-API-Key": "c-admin", ...J }, '{"x":1}', 422],
  ["POST", "/v1/model/reload", { "X-API-Key": "c-admin", ...J }, "[" + "1,".repeat(2000) + "1]", 413],
];
if (!withModel) {
  // Every route that needs a model answers 503 not_ready without one (none is a 404).
  const A = { "X-API-Key": "c-admin", ...J };
  cases.push(
    ["POST", "/v1/score", S, lead(1), 503],
    ["POST", "/score", S, lead(1), 503],
    ["POST", "/v1/rerank", R, `{"target_intent":"x","leads":[${lead(1)}]}`, 503],
    ["POST", "/rerank", R, `{"target_intent":"x","leads":[${lead(1)}]}`, 503],
    ["POST", "/v1/erase", A, '{"lead_id":"C-1"}', 503],
    ["GET", "/v1/leads/C-1/record", { "X-API-Key": "c-admin" }, undefined, 503],
  );
}
if (withModel) {
  cases.push(
    ["POST", "/v1/score", S, lead(1), 200],
    ["POST", "/v1/score", S, "{}", 200],
    ["POST", "/v1/score", S, `{"leads":[${lead(1)},${lead(2, { bhk: "x" })},${lead(3)}]}`, 200],
    ["POST", "/v1/score", S, lead(4, { bhk: 99 }), 422],
    ["POST", "/v1/score", S, lead(5, { lead_id: "+91 98765 43210" }), 422],
    ["POST", "/v1/score", S, "[1]", 422],
    ["POST", "/v1/score", S, '{"leads":5}', 422],
    ["POST", "/v1/score", { ...J }, lead(1), 401],
    ["POST", "/v1/score", { "X-API-Key": "c-admin", ...J }, lead(1), 403],
    ["POST", "/v1/score", { Authorization: "Bearer c-score", "Content-Type": "text/csv" }, "a,b", 415],
    ["POST", "/v1/score", S, "{", 400],
    ["POST", "/v1/score", S, `{"leads":[${Array(10).fill(lead(9)).join(",")}]}`, 413],
    ["POST", "/score", S, lead(6), 200],
    ["POST", "/score", S, lead(7, { calls_attempted: -1 }), 422],
    ["POST", "/v1/rerank", R, `{"target_intent":"2 bhk near metro","leads":[${lead(1)},${lead(2, { bhk: "x" })},${lead(3, { intent_score: 0.9 })}],"top_k":5,"weight":0.4}`, 200],
    ["POST", "/v1/rerank", R, `{"leads":[${lead(1)}]}`, 422],
    ["POST", "/v1/rerank", R, `{"target_intent":"x","leads":[${lead(1)}],"weight":2}`, 422],
    ["POST", "/v1/rerank", S, `{"target_intent":"x","leads":[]}`, 403],
    ["POST", "/rerank", R, `{"target_intent":"2 bhk","leads":[${lead(1)},${lead(2)}]}`, 200],
    ["POST", "/rerank", R, `{"target_intent":"2 bhk","leads":[${lead(1, { bhk: 99 })}]}`, 422],
  );
}
if (withModel) {
  // DPDP routes (admin scope); with --crm-url the record carries outbox events too.
  const A = { "X-API-Key": "c-admin", ...J };
  cases.push(
    ["GET", "/v1/leads/C-1/record", { "X-API-Key": "c-admin" }, undefined, 200],
    ["GET", "/v1/leads/C-1/record", { "X-API-Key": "c-score" }, undefined, 403],
    ["GET", "/v1/leads/9876543210/record", { "X-API-Key": "c-admin" }, undefined, 422],
    ["POST", "/v1/erase", S, '{"lead_id":"C-1"}', 403],
    ["POST", "/v1/erase", A, '{"lead_id":"C-1"}', 200],
    ["POST", "/v1/erase", A, '{"lead_id":"C-never-seen"}', 200],
    ["POST", "/v1/erase", A, '{"lead_id":"+91 98765 43210"}', 422],
    ["POST", "/v1/erase", A, '{"lead_id":"C-1","x":1}', 422],
    ["POST", "/v1/erase", A, "{}", 422],
    ["POST", "/v1/erase", A, "{", 400],
    ["GET", "/v1/leads/C-1/record", { "X-API-Key": "c-admin" }, undefined, 200],
  );
}
// Request bodies the server accepts (true) or refuses for their shape (false), checked against
// the contract whether or not a model is loaded. The seed body is the original prototype's
// 21-field /score body (schemas/seed.json).
const seedLead = JSON.stringify({
  lead_id: "S-1", name: "Asha Rao", age: 34, city: "Pune", city_tier: 1, occupation: "Salaried",
  income_bracket: "10-20L", education_level: "Graduate", num_site_visits: 3, avg_time_on_page: 42.5,
  form_filled: true, whatsapp_reply_count: 2, clicked_ad: false, bounced: false, referral_source: "SEO",
  ip_geolocation_verified: true, device_type: "Mobile", campaign_id: "CAMP002", crm_segment_tag: "A",
  linkedin_profile_exists: true, news_sentiment_about_company: 0.3, company_size: "50-200",
  industry_type: "Tech" });
const requests = [
  ["POST", "/v1/score", lead(1), true],
  ["POST", "/v1/score", "{}", true],
  ["POST", "/v1/score", `{"leads":[${lead(1)},${lead(2, { bhk: "x" })},${lead(3)}]}`, true],
  ["POST", "/v1/score", '{"leads":[]}', true],
  ["POST", "/v1/score", seedLead, true],
  ["POST", "/v1/score", '{"leads":5}', false],
  ["POST", "/v1/score", '{"leads":{}}', false],
  ["POST", "/v1/score", `{"leads":${lead(1)}}`, false],
  ["POST", "/score", seedLead, true],
  ["POST", "/score", lead(1), true],
  ["POST", "/v1/rerank", `{"target_intent":"2 bhk near metro","leads":[${lead(1)},${lead(2, { intent_score: 0.9 })}],"top_k":5,"weight":0.4}`, true],
  ["POST", "/v1/rerank", `{"leads":[${lead(1)}]}`, false],
  ["POST", "/v1/rerank", `{"target_intent":"x","leads":[${lead(1)}],"weight":2}`, false],
  ["POST", "/rerank", `{"target_intent":"villa with a garden","leads":[${seedLead},${lead(2)}]}`, true],
  ["POST", "/v1/erase", '{"lead_id":"C-1"}', true],
  ["POST", "/v1/erase", '{"lead_id":"C-1","x":1}', false],
];
for (const [method, path, body, valid] of requests) checkRequest(method, path, body, valid);

// Extra cases appear here as endpoints get wired (scoring, rerank, erase, records).
if (process.env.LEADSCORE_CONTRACT_CASES) {
  cases.push(...JSON.parse(readFileSync(process.env.LEADSCORE_CONTRACT_CASES, "utf8")));
}

try {
  for (const [method, path, headers, body, want] of cases) {
    let r;
    try {
      r = await fetch(base + path, { method, headers, body });
    } catch (e) {
      failures++;
      console.error(`FAIL ${method} ${path} (want ${want}): ${e.cause ? e.cause.message : e.message}`);
      continue;
    }
    const text = await r.text();
    if (r.status !== want) {
      failures++;
      console.error(`FAIL ${method} ${path}: status ${r.status}, want ${want}: ${text.slice(0, 300)}`);
      continue;
    }
    if (!r.headers.get("x-request-id")) {
      failures++;
      console.error(`FAIL ${method} ${path}: no X-Request-Id`);
    }
    validate(method, path, r.status, r.headers.get("content-type") || "", text);
    // A body the server accepted must be valid under the contract too.
    if (r.status < 300 && body && (headers["Content-Type"] || "").startsWith("application/json")) {
      checkRequest(method, path, body, true);
    }
  }
} finally {
  child.kill("SIGTERM");
}
const code = await new Promise((res) => child.on("exit", (c) => res(c)));
if (code !== 0) {
  failures++;
  console.error("FAIL server exit code " + code);
}
if (failures) console.error("server log:\n" + serverLog);
console.log(`contract: ${cases.length} requests, ${covered.size} documented responses covered, ${failures} failures`);
process.exit(failures ? 1 : 0);
