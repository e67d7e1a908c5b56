// Browser test of the broker console: the real `leadscore serve` with a small trained model,
// driven by Debian's chromium through playwright-core. Loads the sample leads, scores them
// (grades appear), reranks by a typed intent (order changes, encoder line shows bm25), and saves
// a screenshot. Exit 77 (skipped) when chromium or playwright-core is missing.
// Usage: node console_test.mjs <leadscore binary> <model dir> [screenshot dir]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const [bin, modelDir, shotDir] = process.argv.slice(2);
const CHROMIUM = "/usr/bin/chromium";
if (!bin || !modelDir) {
  console.error("usage: node console_test.mjs <leadscore binary> <model dir> [screenshot dir]");
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.log("SKIP: " + CHROMIUM + " not installed");
  process.exit(77);
}
let chromium;
try {
  chromium = createRequire(join(root, "package.json"))("playwright-core").chromium;
} catch (e) {
  console.log("SKIP: playwright-core not installed (npm ci)");
  process.exit(77);
}

const KEY = "b-console";
let serverLog = "";
const child = spawn(bin, ["serve", "--port", "0", "--model", modelDir, "--web-dir", join(root, "web")], {
  env: { ...process.env, LEADSCORE_API_KEYS: `${KEY}:score,rerank` },
  stdio: ["ignore", "pipe", "pipe"],
});
child.stderr.on("data", (d) => { serverLog += d; });
const port = await new Promise((res, rej) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/[0-9.]+:(\d+)/);
    if (m) res(Number(m[1]));
  });
  child.on("exit", (code) => rej(new Error("server exited " + code + "\n" + serverLog)));
  setTimeout(() => rej(new Error("server did not start")), 20000);
});

let failures = 0;
function check(cond, what) {
  if (!cond) { failures++; console.error("FAIL " + what); } else console.log("ok   " + what);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/`);
  check((await page.title()) === "leadscore console", "console page served at /");
  await page.fill("#api-key", KEY);
  await page.dispatchEvent("#api-key", "change");
  // The page's first, keyless fetch answers 401 ("model: ... 401"), which must not pass for the
  // keyed answer: wait for a model version (hex), or fail after the timeout.
  const hasVersion = () => /^model: [0-9a-f]{8,}/.test(document.getElementById("model").textContent);
  await page.waitForFunction(hasVersion, null, { timeout: 15000 }).catch(() => {});
  check(/^model: [0-9a-f]{8,}/.test(await page.textContent("#model")), "model info loads with the key");

  const order = () => page.$$eval("#leads tbody tr", (rows) => rows.map((r) => r.dataset.leadId));
  await page.click("text=Load sample leads");
  check((await order()).length === 8, "sample leads listed");

  await page.click("text=Score leads");
  await page.waitForSelector("#leads .grade");
  const grades = await page.$$eval("#leads .grade", (gs) => gs.map((g) => g.textContent));
  check(grades.length === 8 && grades.every((g) => /^[ABCD]$/.test(g)), "a grade for every lead: " + grades.join(""));
  const scored = await order();

  await page.fill("#intent", "commercial shop for rental income on a main road");
  await page.$eval("#weight", (el) => { el.value = "1"; el.dispatchEvent(new Event("input")); });
  await page.click("#rerank");
  await page.waitForFunction(() => document.getElementById("encoder").textContent.includes("encoder"));
  const encoder = await page.textContent("#encoder");
  check(encoder.includes("bm25"), "encoder line shows bm25: " + encoder);
  const reranked = await order();
  check(reranked[0] === "L-1007", "the shop lead ranks first by similarity: " + reranked.join(","));
  check(reranked.join() !== scored.slice(0, reranked.length).join(), "rerank changed the order");
  const status = await page.textContent("#status");
  check(!/error|\d{3} /.test(status), "status line: " + status);
  check(pageErrors.length === 0, "no page errors " + pageErrors.join("; "));

  const dir = shotDir || mkdtempSync(join(tmpdir(), "leadscore-console-"));
  const shot = join(dir, "console.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log("screenshot: " + shot);
} finally {
  await browser.close();
  child.kill("SIGTERM");
}
if (failures) console.error("server log:\n" + serverLog);
process.exit(failures ? 1 : 0);
