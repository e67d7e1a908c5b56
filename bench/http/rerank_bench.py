"""p50/p90 latency of POST /v1/rerank with 100 leads against a running-here `leadscore serve`
(started by this script on a free port), warm and cold embedding cache, BM25 and (when the
synthetic MiniLM tool is given) MiniLM. One client, sequential requests on a keep-alive
connection, so the numbers are server latency plus loopback.

Usage: python3 rerank_bench.py <leadscore> <model dir> [make_synthetic_minilm] [--requests N]"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from serverproc import ServerProc  # noqa: E402

NOTES = ["Wants {b}BHK ready to move near metro, loan sanctioned", "just checking prices, call after Diwali",
         "villa with garden in a gated community", "shop for rental income, main road frontage",
         "{b} bhk ready to move chahiye near IT corridor, school nearby", "first home near metro, visit on Sunday"]
CITIES = [("Bengaluru", "Whitefield"), ("Pune", "Hinjewadi"), ("Mumbai", "Powai"), ("Chennai", "OMR")]


def leads(n, salt):
    out = []
    for i in range(n):
        city, loc = CITIES[i % len(CITIES)]
        out.append({"lead_id": "B-%d" % i, "city": city, "locality": loc, "property_type": "Apartment",
                    "bhk": 1 + i % 4, "budget_lakh": "%d lakh" % (50 + 7 * (i % 20)), "calls_attempted": 1 + i % 5,
                    "calls_answered": i % 3, "page_views": 3 + i % 17, "consent": True,
                    "notes": NOTES[i % len(NOTES)].format(b=1 + i % 4) + " (ref %s-%d)" % (salt, i)})
    return out


def measure(port, body_fn, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for k in range(n):
        body = json.dumps(body_fn(k)).encode()
        t0 = time.perf_counter()
        conn.request("POST", "/v1/rerank", body, {"Content-Type": "application/json",
                                                   "Authorization": "Bearer bench"})
        r = conn.getresponse()
        data = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status == 200, data[:300]
    conn.close()
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))], json.loads(data)["encoder"]


def run(binary, model, extra, n):
    srv = ServerProc(binary, ["--model", model, "--no-access-log", "--threads", "2"] + extra,
                     keys="bench:rerank").start()
    try:
        fixed = leads(100, "w")
        measure(srv.port, lambda k: {"target_intent": "warm-up", "leads": fixed}, 3)
        hot = measure(srv.port, lambda k: {"target_intent": "warm-up", "leads": fixed}, n)
        warm = measure(srv.port, lambda k: {"target_intent": "3 bhk near metro %d" % k, "leads": fixed}, n)
        cold = measure(srv.port, lambda k: {"target_intent": "3 bhk near metro", "leads": leads(100, "c%d" % k)}, n)
        return hot, warm, cold
    finally:
        srv.cleanup()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(sys.argv[sys.argv.index("--requests") + 1]) if "--requests" in sys.argv else 30
    if "--requests" in sys.argv:
        args.remove(str(n))
    binary, model = args[0], args[1]
    tool = args[2] if len(args) > 2 else ""
    print("| encoder | cache | p50 ms | p90 ms |\n|---|---|---|---|")
    configs = [("bm25", [])]
    tmp = None
    if tool:
        tmp = tempfile.mkdtemp(prefix="leadscore-bench-minilm-")
        subprocess.run([tool, tmp], check=True, stdout=subprocess.DEVNULL)
        configs.append(("minilm (synthetic weights, 1 thread)", ["--text-model", tmp]))
    try:
        for name, extra in configs:
            (hp50, hp90, _), (wp50, wp90, _), (cp50, cp90, _) = run(binary, model, extra, n)
            print("| %s | all cached (same intent, same 100 leads) | %.2f | %.2f |" % (name, hp50, hp90))
            print("| %s | warm (new intent, same 100 leads) | %.2f | %.2f |" % (name, wp50, wp90))
            print("| %s | cold (100 new lead texts) | %.2f | %.2f |" % (name, cp50, cp90))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
