"""End-to-end tests of `leadscore serve` with its cache (in-process and a real redis-server), the
CRM outbox (a real `leadscore crm-receiver`) and the DPDP routes (POST /v1/erase,
GET /v1/leads/{id}/record): cached answers, consent policy, two replicas sharing Redis, Redis
killed under load, PII canaries in Redis / logs / audit log / outbox files / receiver store,
crash safety of the outbox (kill -9 mid-load), erasure (scores, rerank embeddings in-process
and in Redis, outbox events), and retention enforced by the running server.

Usage: python3 http_integration_test.py <leadscore binary> <models dir> [make_synthetic_minilm]"""
import calendar
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverproc import ServerProc, wait_until as wait_for  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)
BIN = ""
MODELS = ""
MAKE_MINILM = ""  # tests/text tool writing a MiniLM checkpoint (embedding tests skip without it)
KEY = {"Authorization": "Bearer e2e-score-key"}
ADMIN = {"X-API-Key": "e2e-admin-key"}
CACHE_SECRET = "integ-cache-secret-0123456789abcdef"
CRM_SECRET = "integ-crm-secret-0123456789abcdef"
# For tests that assert what reaches Redis: the default 5 ms timeout turns a Redis call delayed by
# a loaded CI machine into a miss or a skipped write (correct behaviour, tested on its own by
# Cache.test_redis_killed_under_load and the unit tests), which those assertions would misread.
SLOW_REDIS_OK = ("--redis-timeout-ms", "1000")
CANARIES = {"name": "Ottoline Brackenridge", "phone": "+91 98123 45670", "email": "ob.canary31@example.org"}
NEEDLES = [b"Ottoline", b"Brackenridge", b"98123", b"45670", b"ob.canary31", b"Velvetmoss"]


def lead(i, **over):
    d = {"lead_id": "L-%d" % i, "source": ["99acres", "MagicBricks", "Housing.com"][i % 3],
         "city": ["Mumbai", "Pune", "Bengaluru"][i % 3], "transaction_type": "Buy",
         "property_type": "Apartment", "bhk": 1 + i % 4, "budget_lakh": 50 + i % 200,
         "loan_preapproved": i % 2 == 0, "purpose": "Self-use", "site_visit_scheduled": i % 3 == 0,
         "site_visits_done": i % 3, "calls_attempted": 3 + i % 5, "calls_answered": i % 4,
         "whatsapp_replies": i % 7, "email_opens": i % 5, "page_views": 5 + i % 40,
         "time_on_site_s": 60.5 * (1 + i % 9), "days_since_enquiry": i % 30,
         "first_response_min": 5 + i % 50, "consent": True}
    d.update(over)
    return d


def canary_lead(i, **over):
    d = lead(i, notes="Call Ottoline Brackenridge on +91 98123 45670, ob.canary31@example.org, Velvetmoss Towers",
             **CANARIES)
    d.update(over)
    return d


def model_dir(name):
    return os.path.join(MODELS, name, "latest")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port



class Redis:
    """A throw-away redis-server on a free loopback port (no persistence)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: self.cli("PING") == "PONG", 10):
            raise RuntimeError("redis-server did not start")
        return self

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--raw"] + list(args),
                           capture_output=True, timeout=10)
        return r.stdout.decode("latin-1").strip()

    def cli_bytes(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), "--raw"] + list(args),
                              capture_output=True, timeout=10).stdout

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class SilentRedis:
    """A TCP server on a free loopback port that accepts connections and reads whatever is sent,
    but never replies: a Redis that hangs (stopped by SIGSTOP, a stuck proxy, a full network)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.bytes_read = 0
        self.conns = []
        self.stopped = threading.Event()

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    def _drain(self, c):
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                self.bytes_read += len(data)
        except OSError:
            return

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def stop(self):
        self.stopped.set()
        self.sock.close()
        for c in self.conns:
            c.close()


class Receiver:
    """`leadscore crm-receiver` with a JSON-lines store."""

    def __init__(self, store, port=0, extra=()):
        self.store = store
        self.port = port
        self.extra = list(extra)
        self.proc = None
        self.out = tempfile.NamedTemporaryFile(prefix="crm-recv-", suffix=".out", delete=False)

    def start(self):
        self.out.truncate(0)
        self.proc = subprocess.Popen(
            [BIN, "crm-receiver", "--port", str(self.port), "--secret", CRM_SECRET, "--store", self.store,
             "--quiet"] + self.extra, stdout=self.out, stderr=subprocess.STDOUT)

        def port():
            with open(self.out.name) as f:
                text = f.read()
            for line in text.splitlines():
                if "listening on http://" in line:
                    return int(line.rsplit(":", 1)[1].strip("/\n "))
            if self.proc.poll() is not None:
                raise RuntimeError("receiver exited: " + text)
            return None
        self.port = wait_for(port, 10)
        if not self.port:
            raise RuntimeError("receiver did not start")
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def events(self):
        """The events stored so far. The receiver may be appending a line at this moment: a
        last line without its newline is incomplete and is left for the next call."""
        if not os.path.exists(self.store):
            return []
        with open(self.store) as f:
            return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def metric(srv, name, labels=""):
    return srv.metric(name, labels)


def audit_line(ts, action="reload"):
    return json.dumps({"ts": ts, "action": action, "outcome": "ok", "route": "/v1/model/reload",
                       "request_id": "seeded", "key_id": "key#1", "detail": ""}, separators=(",", ":")) + "\n"


def score(srv, body, headers=KEY):
    return srv.json("POST", "/v1/score", body, headers)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="leadscore-integ-")
        self.cleanups = []

    def tearDown(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001 - best effort teardown
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, *args, data_dir=None, env=None, model="real_estate"):
        e = {"LEADSCORE_CACHE_SECRET": CACHE_SECRET, "LEADSCORE_CRM_SECRET": CRM_SECRET}
        e.update(env or {})
        srv = ServerProc(BIN, ["--model", model_dir(model), "--data-dir", data_dir or self.tmp] + list(args),
                         env=e).start()
        self.cleanups.append(srv.cleanup)
        return srv

    def redis(self):
        r = Redis().start()
        self.cleanups.append(r.kill)
        return r

    def minilm(self, name="minilm", roll=0):
        """A synthetic MiniLM checkpoint (same shape as all-MiniLM-L6-v2) for --text-model; roll != 0
        gives another checkpoint of the same shape and size (word-embedding rows rotated)."""
        if not MAKE_MINILM:
            self.skipTest("no make_synthetic_minilm tool")
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        r = subprocess.run([MAKE_MINILM, d] + (["--roll-word-embeddings", str(roll)] if roll else []),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode == 77:
            self.skipTest("shared MiniLM files missing: " + r.stderr.decode(errors="replace"))
        self.assertEqual(r.returncode, 0, r.stderr)
        return d

    def receiver(self, name="received.jsonl", extra=()):
        r = Receiver(os.path.join(self.tmp, name), extra=extra).start()
        self.cleanups.append(r.stop)
        return r


class Cache(Base):
    def test_second_identical_lead_is_cached_and_identical(self):
        srv = self.server("--cache", "local")
        s1, _, b1 = srv.request("POST", "/v1/score", lead(1), KEY)
        s2, _, b2 = srv.request("POST", "/v1/score", lead(1), KEY)
        self.assertEqual((s1, s2), (200, 200))
        r1, r2 = json.loads(b1), json.loads(b2)
        self.assertFalse(r1["cached"])
        self.assertTrue(r2["cached"])
        self.assertEqual(b1.replace(b'"cached":false', b'"cached":true'), b2)
        # Another lead id with the same features is the same cache entry: same score.
        _, _, r3 = score(srv, lead(1, lead_id="L-other"))
        self.assertTrue(r3["cached"])
        self.assertEqual(r3["intent_score"], r1["intent_score"])
        self.assertGreaterEqual(metric(srv, "leadscore_cache_hits_total"), 2)
        self.assertGreaterEqual(metric(srv, "leadscore_cache_misses_total"), 1)

    def test_lead_without_consent_is_never_cached(self):
        srv = self.server("--cache", "local")
        for consent in (False, None):
            body = lead(7, lead_id="NC-%s" % consent)
            if consent is None:
                del body["consent"]
            else:
                body["consent"] = consent
            for _ in range(3):
                status, _, r = score(srv, body)
                self.assertEqual(status, 200)
                self.assertFalse(r["cached"])
        self.assertEqual(metric(srv, "leadscore_cache_hits_total"), 0)

    def test_require_consent_refuses(self):
        srv = self.server("--require-consent")
        status, _, r = score(srv, lead(3, consent=False))
        self.assertEqual(status, 422)
        self.assertEqual(r["error"]["code"], "consent_required")

    def test_cache_none(self):
        srv = self.server("--cache", "none")
        for _ in range(2):
            _, _, r = score(srv, lead(2))
            self.assertFalse(r["cached"])

    def test_model_version_isolation_after_reload(self):
        link = os.path.join(self.tmp, "current")
        os.symlink(os.path.realpath(model_dir("real_estate")), link)
        srv = ServerProc(BIN, ["--model", link, "--data-dir", self.tmp],
                         env={"LEADSCORE_CACHE_SECRET": CACHE_SECRET}).start()
        self.cleanups.append(srv.cleanup)
        _, _, a1 = score(srv, lead(4))
        _, _, a2 = score(srv, lead(4))
        self.assertTrue(a2["cached"])
        os.symlink(os.path.realpath(model_dir("real_estate_b")), link + ".new")
        os.replace(link + ".new", link)
        status, _, body = srv.json("POST", "/v1/model/reload", headers=ADMIN)
        self.assertEqual((status, body["status"]), (200, "reloaded"), body)
        _, _, b1 = score(srv, lead(4))
        self.assertNotEqual(b1["model_version"], a1["model_version"])
        self.assertFalse(b1["cached"])
        _, _, b2 = score(srv, lead(4))
        self.assertTrue(b2["cached"])
        self.assertEqual(b2["model_version"], b1["model_version"])

    def test_two_replicas_share_redis(self):
        rd = self.redis()
        for mode in ("redis", "two-level"):
            a = self.server("--cache", mode, "--redis", rd.url, *SLOW_REDIS_OK, data_dir=os.path.join(self.tmp, "a" + mode))
            b = self.server("--cache", mode, "--redis", rd.url, *SLOW_REDIS_OK, data_dir=os.path.join(self.tmp, "b" + mode))
            body = lead(11, lead_id="R-" + mode, bhk=3 if mode == "redis" else 2)
            _, _, ra = score(a, body)
            self.assertFalse(ra["cached"], mode)
            _, _, rb = score(b, body)
            self.assertTrue(rb["cached"], mode)
            self.assertEqual(rb["intent_score"], ra["intent_score"])
            self.assertEqual(rb["reasons"], ra["reasons"])

    def test_text_models_sharing_redis_never_serve_each_others_embeddings(self):
        """Replicas with different MiniLM checkpoints on one Redis (the audit's m1/text and m2/text:
        same shape, same file size, same directory name) each get their own model id, so m2 never
        answers with m1's cached embeddings; the same model under another path shares them."""
        m1 = self.minilm("m1/text")
        m2 = self.minilm("m2/text", roll=1)
        m1_elsewhere = self.minilm("elsewhere")
        rd = self.redis()
        notes = ["ready to move 3 bhk near the metro", "villa with a garden, gated community",
                 "shop on the main road for rental income", "first home, school nearby, loan sanctioned"]
        body = {"target_intent": "3 bhk flat near metro, ready to move", "weight": 1, "top_k": 100,
                "leads": [lead(40 + i, lead_id="TM-%d" % i, notes=n) for i, n in enumerate(notes)]}

        def rerank(model, name, *cache):
            srv = self.server("--text-model", model, *cache, data_dir=os.path.join(self.tmp, name))
            status, _, r = srv.json("POST", "/v1/rerank", body, {"Authorization": "Bearer e2e-all-key"})
            self.assertEqual(status, 200, r)
            self.assertEqual(r["encoder"], "minilm")
            sims = {x["lead_id"]: x["similarity"] for x in r["results"]}
            return r["model"], sims, metric(srv, "leadscore_text_encoded_total") or 0

        shared = ("--cache", "redis", "--redis", rd.url, *SLOW_REDIS_OK)
        _, m2_truth, _ = rerank(m2, "m2-alone", "--cache", "none")
        id1, sims1, encoded1 = rerank(m1, "a", *shared)
        self.assertEqual(encoded1, len(notes) + 1)
        self.assertTrue(wait_for(lambda: len(rd.cli("--scan", "--pattern", "ls:v1:emb:*").split()) == len(notes) + 1,
                                 10), "m1's embeddings did not reach Redis")
        id2, sims2, encoded2 = rerank(m2, "b", *shared)
        self.assertNotEqual(id2, id1)
        self.assertEqual(encoded2, len(notes) + 1, "m2 took embeddings from the cache m1 filled")
        for k, v in m2_truth.items():
            self.assertAlmostEqual(sims2[k], v, places=5, msg=k)
        self.assertNotEqual([round(v, 3) for v in sims2.values()], [round(sims1[k], 3) for k in sims2])
        # m1's files under another path: the same model id, everything answered from Redis.
        id3, sims3, encoded3 = rerank(m1_elsewhere, "c", *shared)
        self.assertEqual((id3, encoded3), (id1, 0))
        self.assertEqual(sims3, sims1)

    def test_batch_reads_with_mget_and_answers_like_fresh_scores(self):
        # A batch asks Redis once per chunk (MGET) and writes once per chunk (a pipeline), not
        # one GET/EVALSHA per lead; cached answers equal fresh ones byte for byte.
        rd = self.redis()
        srv = self.server("--cache", "redis", "--redis", rd.url, *SLOW_REDIS_OK)
        fresh = self.server("--cache", "none", data_dir=os.path.join(self.tmp, "fresh"))

        def commandstats():
            calls = {}
            for line in rd.cli("INFO", "commandstats").splitlines():
                if line.startswith("cmdstat_"):
                    name, rest = line[len("cmdstat_"):].split(":", 1)
                    calls[name] = int(rest.split(",")[0].split("=")[1])
            return calls

        # 40 leads run on one thread; 600 are split over the cores (score_batch's chunks).
        for n in (40, 600):
            leads = [lead(1000 * n + i, lead_id="MG-%d-%d" % (n, i)) for i in range(n)]
            for l in leads[1::5]:
                del l["consent"]  # scored, never cached (consent: false would also erase)
            leads[3] = dict(leads[3], bhk=-1)  # a per-item error stays in place
            body = {"leads": leads}
            consenting = sum(1 for i, l in enumerate(leads) if "consent" in l and i != 3)
            max_chunks = max(1, min(os.cpu_count() or 1, n // 128))
            _, _, want = score(fresh, body)
            rd.cli("CONFIG", "RESETSTAT")
            status, _, first = score(srv, body)
            self.assertEqual(status, 200)
            self.assertTrue(all(not r.get("cached", False) for r in first["results"]))
            calls = commandstats()
            self.assertEqual(calls.get("get", 0), 0, calls)
            self.assertEqual(calls.get("evalsha", 0), consenting, calls)  # tagged puts, pipelined
            rd.cli("CONFIG", "RESETSTAT")
            status, _, second = score(srv, body)
            self.assertEqual(status, 200)
            calls = commandstats()
            self.assertEqual(calls.get("get", 0), 0, calls)
            self.assertGreaterEqual(calls.get("mget", 0), 1, calls)
            self.assertLessEqual(calls.get("mget", 0), max_chunks, calls)
            self.assertEqual(calls.get("evalsha", 0) + calls.get("set", 0), 0, calls)  # no rewrites
            self.assertEqual(len(second["results"]), n)
            for i, (got, exp) in enumerate(zip(second["results"], want["results"])):
                if i == 3:
                    self.assertEqual(got["error"]["code"], "field_out_of_range", got)
                    self.assertEqual(got, exp)
                    continue
                self.assertIs(got["cached"], "consent" in leads[i], i)
                self.assertEqual(got, dict(exp, cached="consent" in leads[i]), i)

    def test_redis_url_from_the_environment_and_outages_logged_with_their_reason(self):
        rd = self.redis()
        rd.cli("CONFIG", "SET", "requirepass", "Rz9-secret-pw")
        # A wrong password: the log says why Redis is unavailable, never the password itself,
        # and warns that a password in argv is visible to every user.
        bad = "redis://:Wr0ng-pw-x@127.0.0.1:%d/0" % rd.port
        srv = self.server("--cache", "redis", "--redis", bad, *SLOW_REDIS_OK,
                          data_dir=os.path.join(self.tmp, "bad"))
        self.assertTrue(wait_for(lambda: "redis_unavailable" in srv.log(), 10), srv.log())
        self.assertIn("AUTH refused", srv.log())
        self.assertIn("redis_password_in_argv", srv.log())
        srv.stop()
        self.assertNotIn("Wr0ng-pw-x", srv.log())
        # The URL from LEADSCORE_REDIS_URL: nothing secret in argv, and the cache works.
        good = "redis://:Rz9-secret-pw@127.0.0.1:%d/0" % rd.port
        srv = self.server("--cache", "redis", *SLOW_REDIS_OK, env={"LEADSCORE_REDIS_URL": good})
        self.assertNotIn("Rz9-secret-pw", " ".join(srv.args))
        for expect_cached in (False, True):
            status, _, r = score(srv, lead(7))
            self.assertEqual((status, r["cached"]), (200, expect_cached), r)
        self.assertNotIn("redis_password_in_argv", srv.log())
        self.assertNotIn("redis_unavailable", srv.log())
        # An outage and the recovery are both logged once.
        port = rd.port
        rd.kill()
        for i in range(10):
            self.assertEqual(score(srv, lead(100 + i))[0], 200)
        self.assertTrue(wait_for(lambda: "redis_unavailable" in srv.log(), 10), srv.log())
        rd2 = Redis(port=port).start()
        self.cleanups.append(rd2.kill)
        rd2.cli("CONFIG", "SET", "requirepass", "Rz9-secret-pw")
        self.assertTrue(wait_for(lambda: srv.request("GET", "/readyz")[0] == 200 and
                                 "redis_available" in srv.log(), 20), srv.log())
        self.assertEqual(srv.log().count("redis_unavailable"), 1, srv.log())
        self.assertNotIn("Rz9-secret-pw", srv.log())

    def test_no_pii_in_redis(self):
        rd = self.redis()
        srv = self.server("--cache", "redis", "--redis", rd.url, *SLOW_REDIS_OK)
        for i in range(20):
            status, _, body = srv.request("POST", "/v1/score", canary_lead(100 + i, lead_id="PII-%d" % i), KEY)
            self.assertEqual(status, 200)
            for n in NEEDLES:
                self.assertNotIn(n, body)
        keys = [k for k in rd.cli("--scan").splitlines() if k]
        self.assertGreater(len(keys), 0)
        dump = b"\n".join(k.encode("latin-1") for k in keys)
        for k in keys:
            t = rd.cli("TYPE", k)
            if t == "string":
                dump += rd.cli_bytes("GET", k)
            elif t == "set":
                dump += rd.cli_bytes("SMEMBERS", k)
            elif t == "hash":
                dump += rd.cli_bytes("HGETALL", k)
            dump += b"\n"
        for n in NEEDLES + [b"PII-1"]:
            self.assertNotIn(n, dump)
        for n in NEEDLES:
            self.assertNotIn(n, srv.log().encode())

    def test_readyz_recovers_on_an_idle_server_after_redis_returns(self):
        rd = self.redis()
        srv = self.server("--cache", "redis", "--redis", rd.url)
        rd.kill()
        # Traffic while Redis is down opens the breaker (every request still answers 200).
        def degraded():
            status, _, _ = score(srv, lead(31, lead_id="I-1"))
            self.assertEqual(status, 200)
            return srv.json("GET", "/readyz")[2].get("status") == "degraded"
        self.assertTrue(wait_for(degraded, 15), srv.json("GET", "/readyz"))
        rd2 = Redis(rd.port).start()
        self.cleanups.append(rd2.kill)
        scored = metric(srv, "leadscore_cache_misses_total")
        # No scoring from here on: /readyz alone must see Redis back (the breaker's probe).
        ok = wait_for(lambda: srv.json("GET", "/readyz")[2].get("status") == "ok", 15, 0.2)
        self.assertTrue(ok, srv.json("GET", "/readyz"))
        self.assertEqual(metric(srv, "leadscore_cache_misses_total"), scored)
        self.assertEqual(metric(srv, "leadscore_cache_breaker_open"), 0)

    def test_redis_killed_under_load(self):
        rd = self.redis()
        # redis mode: every request reaches Redis (two-level would answer repeats locally).
        srv = self.server("--cache", "redis", "--redis", rd.url)
        _, _, ref = score(srv, lead(21, lead_id="K-ref"))
        failures, results, stop = [], [], threading.Event()

        def load():
            i = 0
            while not stop.is_set():
                try:
                    status, _, r = score(srv, lead(21 + i % 5, lead_id="K-%d" % (i % 5)))
                    if status != 200:
                        failures.append(status)
                    else:
                        results.append((i % 5, r["intent_score"]))
                except Exception as e:  # noqa: BLE001 - a failed request is what we count
                    failures.append(repr(e))
                i += 1
        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(0.5)
            rd.kill()
            degraded = wait_for(lambda: srv.json("GET", "/readyz")[2].get("status") == "degraded", 15)
            self.assertTrue(degraded, srv.json("GET", "/readyz"))
            time.sleep(0.5)
            rd2 = Redis(rd.port).start()
            self.cleanups.append(rd2.kill)
            ok = wait_for(lambda: srv.json("GET", "/readyz")[2].get("status") == "ok", 30, 0.2)
            self.assertTrue(ok, srv.json("GET", "/readyz"))
        finally:
            stop.set()
            t.join()
        self.assertEqual(failures, [])
        self.assertGreater(len(results), 20)
        first = {}
        for k, s in results:
            first.setdefault(k, s)
            self.assertEqual(first[k], s)
        self.assertEqual(first[0], ref["intent_score"])

    def test_redis_that_accepts_but_never_answers_degrades_to_misses(self):
        silent = SilentRedis().start()
        self.cleanups.append(silent.stop)
        # Each Redis call gives up after the command timeout; scoring goes on uncached.
        srv = self.server("--cache", "redis", "--redis", silent.url, "--redis-timeout-ms", "100")
        for _ in range(5):
            # The same lead each time: a working cache would answer the repeats as hits.
            status, _, r = srv.json("POST", "/v1/score", lead(41, lead_id="H-1"), KEY)  # 10 s client timeout
            self.assertEqual(status, 200, r)
            self.assertIsInstance(r["score"], int)
            self.assertIs(r["cached"], False, r)
        self.assertGreater(silent.bytes_read, 0)  # the server did talk to the silent Redis

        def degraded():
            self.assertEqual(score(srv, lead(42, lead_id="H-2"))[0], 200)
            status, _, body = srv.json("GET", "/readyz")
            return status == 200 and body.get("status") == "degraded" and body
        ready = wait_for(degraded, 15)
        self.assertTrue(ready, srv.json("GET", "/readyz"))
        self.assertEqual(ready["checks"]["cache"]["status"], "degraded", ready)
        self.assertTrue(wait_for(lambda: "redis_unavailable" in srv.log(), 10), srv.log())
        line = next(l for l in srv.log_lines() if "redis_unavailable" in json.dumps(l))
        # A timeout, not a refusal: the reason must not send the operator to the ACL.
        self.assertTrue(line["reason"].startswith("SCRIPT LOAD: io: "), line)
        # Still answering once the breaker is open, and /readyz keeps answering its probe.
        for i in range(5):
            self.assertEqual(score(srv, lead(43 + i, lead_id="H-3"))[0], 200)
        self.assertEqual(srv.json("GET", "/readyz")[0], 200)


class Crm(Base):
    def test_consenting_leads_delivered_signed_others_never(self):
        rc = self.receiver()
        srv = self.server("--crm-url", rc.url)
        for i in range(10):
            status, _, _ = score(srv, canary_lead(i, lead_id="C-%d" % i, consent=(i % 2 == 0)))
            self.assertEqual(status, 200)
        got = wait_for(lambda: len(rc.events()) >= 5 and rc.events(), 20)
        # Every event queued (at append, before its 200) is out of the outbox once the deliverer
        # has processed the receiver's answer, a moment after the receiver stored the event: poll
        # rather than sleep. Then the receiver holds everything that was ever queued.
        self.assertTrue(wait_for(lambda: metric(srv, "leadscore_crm_outbox_depth") == 0, 20),
                        metric(srv, "leadscore_crm_outbox_depth"))
        ids = sorted(e["lead_id"] for e in rc.events())
        self.assertEqual(ids, sorted("C-%d" % i for i in range(0, 10, 2)), got)
        # /metrics: the deliveries and their latencies (append to 2xx), observed just after.
        self.assertTrue(wait_for(
            lambda: metric(srv, "leadscore_crm_delivery_latency_seconds_count") == 5, 20))
        self.assertEqual(metric(srv, "leadscore_crm_deliveries_total", 'outcome="delivered"'), 5)
        self.assertEqual(metric(srv, "leadscore_crm_deliveries_total", 'outcome="dead_letter"'), 0)
        _, _, prom = srv.request("GET", "/metrics")
        prom = prom.decode()
        self.assertIn("# TYPE leadscore_crm_delivery_latency_seconds histogram\n", prom)
        self.assertIn('leadscore_crm_delivery_latency_seconds_bucket{le="+Inf"} 5\n', prom)
        self.assertLess(abs(metric(srv, "leadscore_crm_last_progress_seconds") - time.time()), 60)
        # The receiver verifies the HMAC signature and timestamp of every request.
        rc.stop()
        with open(rc.out.name) as f:
            summary = f.read()
        self.assertIn("5 events accepted", summary)
        self.assertIn(" 0 rejected", summary)
        srv.stop()
        files = glob.glob(os.path.join(self.tmp, "outbox.sqlite*")) + [rc.store, os.path.join(self.tmp, "audit.log")]
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for n in NEEDLES:
                self.assertNotIn(n, data, path)
        for n in NEEDLES:
            self.assertNotIn(n, srv.log().encode())

    def test_each_event_carries_its_own_leads_score_and_reasons(self):
        # The io threads reuse their event buffers from request to request: nothing of one
        # request's events may leak into the next (a batch, then singles, then a batch again,
        # non-consenting leads in between).
        rc = self.receiver()
        srv = self.server("--crm-url", rc.url)
        answered = {}
        requests = [[lead(i, lead_id="E-%d" % i) for i in range(5)]]
        requests += [lead(i, lead_id="E-%d" % i, consent=(i % 2 == 0)) for i in range(5, 12)]
        requests += [[lead(i, lead_id="E-%d" % i) for i in range(12, 14)]]
        for body in requests:
            status, _, res = score(srv, {"leads": body} if isinstance(body, list) else body)
            self.assertEqual(status, 200, res)
            for r in res["results"] if isinstance(body, list) else [res]:
                if r["lead_id"] not in ("E-5", "E-7", "E-9", "E-11"):
                    answered[r["lead_id"]] = r
        self.assertTrue(wait_for(lambda: len(rc.events()) >= len(answered), 20), rc.events())
        self.assertTrue(wait_for(lambda: metric(srv, "leadscore_crm_outbox_depth") == 0, 20))
        # Exactly one append per consenting lead (the receiver would hide a repeated event by
        # de-duplicating its id).
        self.assertEqual(metric(srv, "leadscore_crm_outbox_appends_total"), len(answered))
        events = rc.events()
        self.assertEqual(sorted(e["lead_id"] for e in events), sorted(answered))
        self.assertEqual(len({e["event_id"] for e in events}), len(events))
        for e in events:
            r = answered[e["lead_id"]]
            for k in ("score", "grade", "model_version"):
                self.assertEqual(e[k], r[k], (k, e, r))
            self.assertAlmostEqual(e["intent_score"], r["intent_score"], places=6)
            self.assertEqual([(x["feature"], x["impact"]) for x in e["reasons"]],
                             [(x["feature"], x["impact"]) for x in r["reasons"]], (e, r))
            # The event id's time (ULID: 10 base32 digits of Unix ms) is its scored_at.
            ms = 0
            for ch in e["event_id"][:10]:
                ms = ms * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(ch)
            scored = time.strptime(e["scored_at"][:19], "%Y-%m-%dT%H:%M:%S")
            self.assertEqual(ms // 1000, calendar.timegm(scored), e)
            self.assertEqual(ms % 1000, int(e["scored_at"][20:23]), e)

    def test_crash_safety_kill9_receiver_down(self):
        n = int(os.environ.get("LEADSCORE_CRASH_N", "10000"))
        port = free_port()
        url = "http://127.0.0.1:%d/" % port
        srv = self.server("--crm-url", url, "--crm-max-attempts", "1000")
        ok_ids, lock = [], threading.Lock()
        stop = threading.Event()

        def worker(start):
            for i in range(start, n, 4):
                if stop.is_set():
                    return
                try:
                    status, _, _ = score(srv, lead(i, lead_id="X-%d" % i))
                except Exception:  # noqa: BLE001 - the server is killed mid-load
                    continue
                if status == 200:
                    with lock:
                        ok_ids.append("X-%d" % i)
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(ok_ids) >= n // 2, 120)
        srv.proc.kill()
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(len(ok_ids), 0)
        rc = Receiver(os.path.join(self.tmp, "crash.jsonl"), port=port).start()
        self.cleanups.append(rc.stop)
        srv2 = self.server("--crm-url", url)
        done = wait_for(lambda: metric(srv2, "leadscore_crm_outbox_depth") == 0, 120, 0.5)
        self.assertTrue(done, metric(srv2, "leadscore_crm_outbox_depth"))
        got = [e["lead_id"] for e in rc.events()]
        self.assertEqual(len(got), len(set(got)), "a lead delivered twice")
        missing = set(ok_ids) - set(got)
        self.assertEqual(missing, set(), "%d answered 200 but not delivered" % len(missing))
        print("\ncrash test: %d leads sent, %d answered 200 before kill -9, %d delivered after restart"
              % (n, len(ok_ids), len(got)), file=sys.stderr)

    def test_slow_receiver_does_not_slow_scoring(self):
        """#7: p99 of /v1/score with a CRM that takes 5 s per request, against the same server
        and load with a CRM that answers at once. A deliverer that held up scoring would put
        the slow run's p99 at 5 s; the bound (the fast run's p99 + 0.5 s) leaves a loaded CI
        machine its jitter."""
        def p99(tag, delay_ms):
            rc = self.receiver(name=tag + ".jsonl", extra=["--delay-ms", str(delay_ms)])
            srv = self.server("--crm-url", rc.url, data_dir=os.path.join(self.tmp, tag))
            for i in range(20):  # warm-up: connections, caches, the first deliveries
                self.assertEqual(score(srv, lead(i, lead_id="W-%d" % i))[0], 200)
            lat = []
            for i in range(200):
                t0 = time.monotonic()
                status, _, _ = score(srv, lead(i, lead_id="S-%d" % i))
                lat.append(time.monotonic() - t0)
                self.assertEqual(status, 200)
            lat.sort()
            return srv, lat[int(0.99 * len(lat))]

        fast_srv, fast = p99("fast", 0)
        fast_srv.stop()
        slow_srv, slow = p99("slow", 5000)
        print("\n/v1/score p99 over 200 sequential consenting leads: CRM answering at once "
              "%.2f ms, CRM taking 5 s per request %.2f ms" % (fast * 1e3, slow * 1e3),
              file=sys.stderr)
        self.assertLess(slow, fast + 0.5)
        # The slow CRM really was slow: its events were still waiting while we scored.
        self.assertGreater(metric(slow_srv, "leadscore_crm_outbox_depth"), 0)

    def test_readyz_reports_a_stuck_deliverer_after_the_configured_time(self):
        url = "http://127.0.0.1:%d/" % free_port()  # nothing listens: no delivery succeeds
        srv = self.server("--crm-url", url, "--crm-stuck-after", "1")
        self.assertEqual(srv.json("GET", "/readyz")[2]["checks"]["crm"]["status"], "ok")
        status, _, _ = score(srv, lead(7, lead_id="R-1"))
        self.assertEqual(status, 200)
        got = wait_for(lambda: (lambda r: r if r[2]["status"] == "degraded" else None)(
            srv.json("GET", "/readyz")), 20, 0.2)
        self.assertTrue(got, srv.json("GET", "/readyz"))
        crm = got[2]["checks"]["crm"]
        self.assertEqual(crm["status"], "degraded")
        self.assertIn("1 s", crm["detail"])
        # The default (300 s) does not call a fresh outage stuck.
        srv2 = self.server("--crm-url", url, data_dir=os.path.join(self.tmp, "default"))
        score(srv2, lead(7, lead_id="R-2"))
        time.sleep(1.5)
        self.assertEqual(srv2.json("GET", "/readyz")[2]["checks"]["crm"]["status"], "ok")

    def test_full_outbox_answers_503_with_the_reason(self):
        """--crm-max-pending bounds the undelivered events kept while the CRM is down; beyond
        it a consenting score is refused (nothing half-queued), a non-consenting one is not."""
        url = "http://127.0.0.1:%d/" % free_port()  # nothing listens
        # Both answer paths: the ring's at-once append, and the callback after the grouped
        # fdatasync with --crm-sync-full.
        for mode in ([], ["--crm-sync-full"]):
            with self.subTest(mode=mode):
                srv = self.server("--crm-url", url, "--crm-max-pending", "2", *mode,
                                  data_dir=os.path.join(self.tmp, "full%d" % len(mode)))
                for i in range(2):
                    self.assertEqual(score(srv, lead(i, lead_id="F-%d" % i))[0], 200)
                status, _, body = score(srv, lead(3, lead_id="F-3"))
                self.assertEqual(status, 503, body)
                self.assertEqual(body["error"]["code"], "outbox_unavailable")
                self.assertIn("outbox_overloaded", body["error"]["message"])
                self.assertEqual(score(srv, lead(4, lead_id="F-4", consent=False))[0], 200)
                self.assertEqual(metric(srv, "leadscore_crm_outbox_depth"), 2)
                srv.stop()

    def test_one_server_per_outbox_and_the_cli_reads_it_while_it_runs(self):
        url = "http://127.0.0.1:%d/" % free_port()
        srv = self.server("--crm-url", url)
        for i in range(3):
            self.assertEqual(score(srv, lead(i, lead_id="O-%d" % i))[0], 200)
        # A second server on the same outbox would deliver the same events: it refuses to start.
        proc = subprocess.run([BIN, "serve", "--no-auth", "--port", "0", "--model", model_dir("real_estate"),
                               "--data-dir", self.tmp, "--crm-url", url],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, LEADSCORE_CRM_SECRET=CRM_SECRET))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("another leadscore process", proc.stderr)
        # The CLI (a reader) lists every acknowledged event at once: those the server's drainer
        # has not yet moved from its append ring into the log too.
        out = subprocess.run([BIN, "outbox", "list", "--outbox", os.path.join(self.tmp, "outbox.sqlite")],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("pending 3 ", out.stdout)
        self.assertIn("lead=O-2", out.stdout)
        # Offline erasure needs the server stopped; while it runs, POST /v1/erase does it.
        out = subprocess.run([BIN, "erase", "--data-dir", self.tmp, "--lead-id", "O-1"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("another leadscore process", out.stderr)

    def test_batch_size_timeout_and_age_flags_reach_the_deliverer(self):
        # --crm-batch-size: events that wait while a request is in flight go out as arrays
        # (the receiver holds each request 1 s, so the 10 scores queue behind the first even on
        # a slow machine).
        rc = self.receiver(extra=("--delay-ms", "1000"))
        srv = self.server("--crm-url", rc.url, "--crm-batch-size", "5", "--crm-concurrency", "1")
        for i in range(10):
            self.assertEqual(score(srv, lead(i, lead_id="BS-%d" % i))[0], 200)
        self.assertTrue(wait_for(lambda: len(rc.events()) == 10, 30), rc.events())
        rc.stop()
        with open(rc.out.name) as f:
            summary = f.read()
        requests = int(re.search(r"(\d+) requests", summary).group(1))
        self.assertLess(requests, 10, summary)  # one event per request would take 10
        # --crm-timeout-ms: a CRM slower than the timeout gets the attempt retried.
        slow = self.receiver("slow.jsonl", extra=("--delay-ms", "5000"))
        srv2 = self.server("--crm-url", slow.url, "--crm-timeout-ms", "300",
                           data_dir=os.path.join(self.tmp, "slow"))
        self.assertEqual(score(srv2, lead(1, lead_id="TO-1"))[0], 200)
        self.assertTrue(wait_for(
            lambda: metric(srv2, "leadscore_crm_deliveries_total", 'outcome="retried"') >= 1, 20))
        self.assertEqual(metric(srv2, "leadscore_crm_deliveries_total", 'outcome="delivered"'), 0)
        for flag, bad in (("--crm-batch-size", "0"), ("--crm-timeout-ms", "0"),
                          ("--crm-max-age-s", "0"), ("--crm-batch-size", "x")):
            proc = subprocess.run([BIN, "serve", "--no-auth", flag, bad],
                                  capture_output=True, text=True, timeout=30)
            self.assertNotEqual(proc.returncode, 0, (flag, bad, proc.stderr))
            self.assertIn(flag, proc.stderr)

    def test_crm_stuck_after_must_be_positive(self):
        proc = subprocess.run([BIN, "serve", "--no-auth", "--crm-stuck-after", "0"],
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--crm-stuck-after", proc.stderr)


class Retention(Base):
    def test_running_server_purges_dead_letters_after_their_retention(self):
        # The CRM refuses our signature (401): the event is dead-lettered at once, then the
        # retention job deletes it (--retention-dead-letter-days 0), leaving no trace.
        rc = self.receiver()
        srv = self.server("--crm-url", rc.url, "--retention-dead-letter-days", "0",
                          "--retention-interval-s", "1",
                          env={"LEADSCORE_CRM_SECRET": "not-the-receivers-secret-0123456789"})
        status, _, r = score(srv, lead(43, lead_id="DL-43q9"))
        self.assertEqual(status, 200, r)
        self.assertTrue(wait_for(
            lambda: metric(srv, "leadscore_crm_deliveries_total", 'outcome="dead_letter"') == 1, 20))
        self.assertTrue(wait_for(
            lambda: (metric(srv, "leadscore_retention_purged_total", 'store="outbox_dead_letter"') or 0) >= 1,
            20), srv.log())
        rec = srv.json("GET", "/v1/leads/DL-43q9/record", None, ADMIN)[2]
        self.assertEqual(rec["crm"]["dead_letter"], [], rec)
        srv.stop()
        for path in glob.glob(os.path.join(self.tmp, "outbox.sqlite*")):
            with open(path, "rb") as f:
                self.assertNotIn(b"DL-43q9", f.read(), path)

    def test_running_server_purges_cache_delivered_events_and_old_audit_lines(self):
        """Storage limitation end to end: `serve` with a 1 s retention round, 1 s cache TTL
        (two-level: in-process and Redis), delivered CRM events kept 0 days and audit lines kept
        1 day. Every check polls with a deadline (no fixed sleeps): the job's purge counters
        (leadscore_retention_purged_total{store}), the access record, Redis (SCAN), the audit log
        and the outbox files."""
        rd = self.redis()
        rc = self.receiver()
        # Audit lines from long ago (a year and two days ago) before the server starts; the
        # server's own lines (from now) must survive.
        old = ["2025-01-02T03:04:05.678Z", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 2 * 86400))]
        audit = os.path.join(self.tmp, "audit.log")
        with open(audit, "w") as f:
            f.write("".join(audit_line(ts) for ts in old))
        srv = self.server("--cache", "two-level", "--redis", rd.url, *SLOW_REDIS_OK, "--cache-ttl", "1",
                          "--crm-url", rc.url, "--retention-delivered-days", "0",
                          "--audit-retention-days", "1", "--retention-interval-s", "1")

        def purged(store):
            return metric(srv, "leadscore_retention_purged_total", 'store="%s"' % store) or 0

        # Old audit lines: trimmed by the job, the server's own fresh line kept.
        status, _, _ = srv.json("POST", "/v1/erase", {"lead_id": "nobody"}, ADMIN)  # audited now
        self.assertEqual(status, 200)
        self.assertTrue(wait_for(lambda: purged("audit_log") >= 2, 20), srv.log())
        with open(audit) as f:
            lines = [json.loads(x) for x in f.read().splitlines()]
        self.assertEqual([l["ts"] for l in lines if l["ts"] in old], [])
        self.assertEqual([l["action"] for l in lines], ["erase"])

        # A consenting lead: cached (both tiers) and pushed; then everything expires or is purged.
        status, _, r = score(srv, lead(41, lead_id="RT-41x7"))
        self.assertEqual(status, 200, r)
        self.assertTrue(wait_for(lambda: [e for e in rc.events() if e["lead_id"] == "RT-41x7"], 20))
        self.assertTrue(wait_for(lambda: purged("cache") >= 1, 20), "the job purged no cache entry")
        self.assertTrue(wait_for(lambda: purged("outbox_delivered") >= 1, 20), "no delivered event purged")

        def record():
            return srv.json("GET", "/v1/leads/RT-41x7/record", None, ADMIN)[2]
        # The record lists Redis's copy too, whose TTL started a moment after the in-process one
        # the job purged (two-level puts locally, then in Redis): poll until it expired as well.
        rec = wait_for(lambda: (lambda r: r if r["cache"] == [] else None)(record()), 20) or record()
        self.assertEqual(rec["cache"], [])
        self.assertEqual(rec["crm"], {"lead_id": "RT-41x7", "pending": [], "delivered": [], "dead_letter": []})
        # Redis expires its copy (and the lead's index set) by the same TTL.
        self.assertTrue(wait_for(lambda: rd.cli("--scan", "--pattern", "ls:v1:*") == "", 20),
                        rd.cli("--scan", "--pattern", "ls:v1:*"))
        # The purge deleted the delivered row (secure_delete, WAL checkpointed): no trace in the files.
        for path in glob.glob(os.path.join(self.tmp, "outbox.sqlite*")):
            with open(path, "rb") as f:
                self.assertNotIn(b"RT-41x7", f.read(), path)
        # The job logs what it purged, by count only.
        rounds = [l for l in srv.log_lines() if l.get("event") == "retention"]
        self.assertTrue(rounds)
        for l in rounds:
            self.assertLessEqual(set(l), {"ts", "level", "event", "cache_purged", "delivered_purged",
                                          "dead_letters_purged", "audit_lines_dropped"}, l)
        # The cached score is gone from every tier: scoring again misses.
        _, _, again = score(srv, lead(41, lead_id="RT-41x7"))
        self.assertFalse(again["cached"])


class Privacy(Base):
    def test_erase_and_record(self):
        rc_port = free_port()  # receiver down: events stay queued
        srv = self.server("--crm-url", "http://127.0.0.1:%d/" % rc_port)
        status, _, _ = score(srv, canary_lead(1, lead_id="E-1"))
        self.assertEqual(status, 200)
        status, _, rec = srv.json("GET", "/v1/leads/E-1/record", None, ADMIN)
        self.assertEqual(status, 200)
        self.assertEqual(len(rec["cache"]), 1)
        self.assertEqual(len(rec["crm"]["pending"]), 1)
        status, _, _ = srv.json("POST", "/v1/erase", {"lead_id": "E-1"}, KEY)
        self.assertEqual(status, 403)
        status, _, r = srv.json("POST", "/v1/erase", {"lead_id": "E-1"}, ADMIN)
        self.assertEqual(status, 200, r)
        self.assertEqual(r["removed"]["cache_entries"], 1)
        self.assertEqual(r["removed"]["outbox_pending"], 1)
        status, _, rec = srv.json("GET", "/v1/leads/E-1/record", None, ADMIN)
        self.assertEqual(rec["cache"], [])
        self.assertEqual(rec["crm"]["pending"] + rec["crm"]["delivered"] + rec["crm"]["dead_letter"], [])
        _, _, again = score(srv, canary_lead(1, lead_id="E-1"))
        self.assertFalse(again["cached"])
        srv.stop()
        with open(os.path.join(self.tmp, "audit.log"), "rb") as f:
            audit = f.read()
        erase_lines = [json.loads(x) for x in audit.splitlines() if b'"erase"' in x and b'"ok"' in x]
        self.assertEqual(len(erase_lines), 1)
        self.assertIn(r["lead_id_hash"], erase_lines[0]["detail"])
        self.assertNotIn(b"E-1", audit)
        for path in glob.glob(os.path.join(self.tmp, "outbox.sqlite*")):
            with open(path, "rb") as f:
                data = f.read()
            for n in NEEDLES:
                self.assertNotIn(n, data, path)

    def test_record_route_decodes_the_id_and_shows_where_pending_pushes_go(self):
        port = free_port()  # CRM down: events stay pending
        srv = self.server("--crm-url", "http://crmuser:crmpw@127.0.0.1:%d/hook?token=tok123" % port)
        for k, lead_id in enumerate(("L 5", "L/5", "L%5", "L\u00e95")):
            status, _, r = score(srv, lead(5 + k, lead_id=lead_id))
            self.assertEqual(status, 200, r)
            # Percent-encoded as any HTTP client does: the record is the one scored.
            path = "/v1/leads/%s/record" % urllib.parse.quote(lead_id, safe="")
            status, _, rec = srv.json("GET", path, None, ADMIN)
            self.assertEqual(status, 200, rec)
            self.assertEqual(rec["lead_id"], lead_id)
            self.assertEqual(len(rec["cache"]), 1, rec)
            pending = rec["crm"]["pending"]
            self.assertEqual(len(pending), 1, rec)
            # Pending pushes show their recipient, without the URL's credentials or query.
            self.assertEqual(pending[0]["recipient"], "http://127.0.0.1:%d/hook" % port)
        raw = srv.request("GET", "/v1/leads/%s/record" % urllib.parse.quote("L 5", safe=""), None, ADMIN)[2]
        for secret in (b"crmpw", b"crmuser", b"tok123"):
            self.assertNotIn(secret, raw)
        # An encoded e-mail or phone is refused like a plain one, and never logged.
        for encoded in ("ob.leak%40example.org", "98765%2043210"):
            status, _, err = srv.json("GET", "/v1/leads/%s/record" % encoded, None, ADMIN)
            self.assertEqual((status, err["error"]["code"]), (422, "lead_id_looks_like_pii"), err)
        status, _, err = srv.json("GET", "/v1/leads/L%zz/record", None, ADMIN)
        self.assertEqual((status, err["error"]["code"], err["error"]["field"]), (400, "invalid_path", "id"))
        # Unknown keys are not echoed when they look like personal data.
        status, _, data = srv.request("POST", "/v1/erase", {"lead_id": "L 5", "+91 98765 11223": 1}, ADMIN)
        self.assertEqual(json.loads(data)["error"]["code"], "unknown_field")
        self.assertNotIn(b"98765", data)
        status, _, data = srv.request("POST", "/v1/model/reload", {"ob.leak@example.org": 1}, ADMIN)
        self.assertEqual(json.loads(data)["error"]["code"], "unknown_field")
        self.assertNotIn(b"ob.leak", data)
        srv.stop()
        for needle in ("ob.leak", "98765", "43210", "crmpw", "tok123"):
            self.assertNotIn(needle, srv.log())

    def test_pseudonymised_ids_are_scored_shown_and_erased_by_the_original_id(self):
        port = free_port()  # CRM down: the event stays pending
        srv = self.server("--pseudonymise-lead-ids", "--crm-url", "http://127.0.0.1:%d/" % port,
                          env={"LEADSCORE_ID_SECRET": "integ-id-secret-0123456789abcdef"})
        phone = "+91 98765 43210"
        status, _, r = score(srv, lead(3, lead_id=phone))
        self.assertEqual(status, 200, r)
        pseudonym = r["lead_id"]
        self.assertRegex(pseudonym, r"^p_[0-9a-f]{32}$")
        # The broker names the lead by the number it knows; the server finds the pseudonym.
        path = "/v1/leads/%s/record" % urllib.parse.quote(phone, safe="")
        status, _, rec = srv.json("GET", path, None, ADMIN)
        self.assertEqual(status, 200, rec)
        self.assertEqual(rec["lead_id"], pseudonym)
        self.assertEqual((len(rec["cache"]), len(rec["crm"]["pending"])), (1, 1), rec)
        status, _, out = srv.json("POST", "/v1/erase", {"lead_id": phone}, ADMIN)
        self.assertEqual(status, 200, out)
        self.assertEqual((out["removed"]["cache_entries"], out["removed"]["outbox_pending"]), (1, 1))
        status, _, rec = srv.json("GET", "/v1/leads/%s/record" % pseudonym, None, ADMIN)
        self.assertEqual((rec["cache"], rec["crm"]["pending"]), ([], []))
        srv.stop()
        for needle in ("98765", "43210"):
            self.assertNotIn(needle, srv.log())
            for path in glob.glob(os.path.join(self.tmp, "*")):
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        self.assertNotIn(needle.encode(), f.read(), path)

    def test_erase_removes_rerank_embeddings(self):
        """POST /v1/erase removes the lead's cached rerank embeddings, in-process and in Redis, and
        nothing else's; the response, the record and the audit line say so. Black-box checks: the
        Redis keys (SCAN) the lead's rerank added are gone, and re-ranking the erased lead has to
        encode its text again (leadscore_text_encoded_total) while the kept lead's is still cached."""
        text_model = self.minilm()
        rd = self.redis()
        intent = "ready to move flat near the metro"
        for mode in ("local", "redis", "two-level"):
            with self.subTest(mode=mode):
                args = ["--text-model", text_model, "--cache", mode]
                if mode != "local":
                    rd.cli("FLUSHALL")
                    args += ["--redis", rd.url, *SLOW_REDIS_OK]
                data_dir = os.path.join(self.tmp, "emb-" + mode)
                srv = self.server(*args, data_dir=data_dir)
                keep = lead(21, lead_id="K-1", notes="wants a garden facing villa, east entrance")
                gone = canary_lead(22, lead_id="G-1")

                def rerank(l):
                    status, _, r = srv.json("POST", "/v1/rerank", {"target_intent": intent, "leads": [l]},
                                            {"Authorization": "Bearer e2e-all-key"})
                    self.assertEqual(status, 200, r)
                    self.assertEqual(r["encoder"], "minilm")

                def emb_keys():
                    return set(rd.cli("--scan", "--pattern", "ls:v1:emb:*").split()) if mode != "local" else set()

                def encoded():
                    return metric(srv, "leadscore_text_encoded_total")

                def record(lead_id):
                    status, _, rec = srv.json("GET", "/v1/leads/%s/record" % lead_id, None, ADMIN)
                    self.assertEqual(status, 200, rec)
                    return rec

                rerank(keep)  # intent + K-1
                before = emb_keys()
                rerank(gone)  # the intent is cached: adds G-1's embedding only
                added = emb_keys() - before
                if mode != "local":
                    self.assertEqual(len(before), 2, before)
                    self.assertEqual(len(added), 1, added)
                self.assertEqual(len(record("G-1")["embeddings"]), 1)
                self.assertGreater(record("G-1")["embeddings"][0]["dimensions"], 0)
                self.assertEqual(record("G-1")["cache"], [])  # reranking does not cache scores

                status, _, r = srv.json("POST", "/v1/erase", {"lead_id": "G-1"}, ADMIN)
                self.assertEqual(status, 200, r)
                self.assertEqual(r["removed"]["embeddings"], 1)
                self.assertEqual(r["removed"]["cache_entries"], 0)
                self.assertEqual(record("G-1")["embeddings"], [])
                self.assertEqual(len(record("K-1")["embeddings"]), 1)
                if mode != "local":
                    after = emb_keys()
                    self.assertEqual(after & added, set(), "an erased embedding is still in Redis")
                    self.assertEqual(after, before)  # the intent's and K-1's are kept
                    for k in added:
                        self.assertEqual(rd.cli("EXISTS", k), "0", k)
                # No tier answers the erased lead's embedding any more; the kept one is still cached.
                n0 = encoded()
                rerank(keep)
                self.assertEqual(encoded() - n0, 0)
                rerank(gone)
                self.assertEqual(encoded() - n0, 1, "the erased lead's embedding was served from a cache")
                srv.stop()
                with open(os.path.join(data_dir, "audit.log"), "rb") as f:
                    lines = [json.loads(x) for x in f.read().splitlines() if b'"erase"' in x]
                self.assertEqual(len(lines), 1)
                self.assertIn(r["lead_id_hash"] + " cache=0 embeddings=1 ", lines[0]["detail"])
                if mode == "redis":
                    # Offline: `leadscore erase --redis` removes the kept lead's embedding too.
                    out = subprocess.run([BIN, "erase", "--data-dir", data_dir, "--lead-id", "K-1", "--redis", rd.url],
                                         capture_output=True, env=dict(os.environ, LEADSCORE_CACHE_SECRET=CACHE_SECRET))
                    self.assertEqual(out.returncode, 0, out.stderr)
                    self.assertEqual(json.loads(out.stdout)["removed"]["embeddings"], 1, out.stdout)
                    self.assertEqual(len(emb_keys()), 2)  # the intent and G-1's re-encoded one

    def test_rerank_embeddings_follow_consent(self):
        """A lead without consent is encoded for the request only (no cache entry, nothing in
        Redis); withdrawal (consent: false on /v1/score) drops the embeddings cached before."""
        text_model = self.minilm()
        rd = self.redis()
        srv = self.server("--text-model", text_model, "--cache", "redis", "--redis", rd.url, *SLOW_REDIS_OK)
        rr = {"Authorization": "Bearer e2e-all-key"}
        body = {"target_intent": "villa with garden", "leads": [lead(31, lead_id="N-1", consent=False)]}
        status, _, r = srv.json("POST", "/v1/rerank", body, rr)
        self.assertEqual(status, 200, r)
        self.assertEqual(len(rd.cli("--scan", "--pattern", "ls:v1:emb:*").split()), 1)  # the intent only
        _, _, rec = srv.json("GET", "/v1/leads/N-1/record", None, ADMIN)
        self.assertEqual(rec["embeddings"], [])
        body["leads"] = [lead(32, lead_id="W-2")]
        srv.json("POST", "/v1/rerank", body, rr)
        _, _, rec = srv.json("GET", "/v1/leads/W-2/record", None, ADMIN)
        self.assertEqual(len(rec["embeddings"]), 1)
        status, _, _ = score(srv, lead(32, lead_id="W-2", consent=False))
        self.assertEqual(status, 200)
        _, _, rec = srv.json("GET", "/v1/leads/W-2/record", None, ADMIN)
        self.assertEqual(rec["embeddings"], [])
        self.assertEqual(len(rd.cli("--scan", "--pattern", "ls:v1:emb:*").split()), 1)

    def test_rerank_follows_the_consent_policy_of_score(self):
        """/v1/rerank applies the same lead policy as /v1/score: with --require-consent an item
        without consent is refused in place (consent_required), and consent: false for a lead
        id withdraws it (queued pushes cancelled, cached score dropped)."""
        srv = self.server("--require-consent")
        rr = {"Authorization": "Bearer e2e-all-key"}
        body = {"target_intent": "3bhk near metro", "leads": [lead(1, lead_id="C-1"),
                                                              lead(2, lead_id="C-2", consent=False)]}
        status, _, r = srv.json("POST", "/v1/rerank", body, rr)
        self.assertEqual(status, 200, r)
        self.assertEqual([x["lead_id"] for x in r["results"]], ["C-1"])
        self.assertEqual([(e["index"], e["lead_id"], e["error"]["code"]) for e in r["errors"]],
                         [(1, "C-2", "consent_required")])

        srv2 = self.server("--crm-url", "http://127.0.0.1:%d/" % free_port(),
                           data_dir=os.path.join(self.tmp, "withdraw"))
        score(srv2, lead(5, lead_id="RW-1"))
        _, _, rec = srv2.json("GET", "/v1/leads/RW-1/record", None, ADMIN)
        self.assertEqual((len(rec["crm"]["pending"]), len(rec["cache"])), (1, 1))
        body = {"target_intent": "villa", "leads": [lead(5, lead_id="RW-1", consent=False)]}
        status, _, r = srv2.json("POST", "/v1/rerank", body, rr)
        self.assertEqual(status, 200, r)
        got = wait_for(lambda: (lambda x: x if not x[2]["crm"]["pending"] else None)(
            srv2.json("GET", "/v1/leads/RW-1/record", None, ADMIN)), 10)
        self.assertTrue(got, "the rerank withdrawal did not cancel the queued push")
        self.assertEqual(got[2]["cache"], [])

    def test_audit_log_records_reloads_erasures_and_key_failures(self):
        """DATA_DIR/audit.log gets one JSON line per model reload, erasure, missing or invalid key
        and insufficient scope: action, outcome, route, request id, key position; never a key or
        a lead id."""
        srv = self.server()
        self.assertEqual(srv.json("POST", "/v1/model/reload", None, ADMIN)[0], 200)
        self.assertEqual(srv.json("POST", "/v1/erase", {"lead_id": "AU-1"}, ADMIN)[0], 200)
        self.assertEqual(srv.json("POST", "/v1/erase", {"lead_id": "AU-1"}, KEY)[0], 403)
        self.assertEqual(srv.json("POST", "/v1/score", lead(1), {"X-API-Key": "not-a-key-5c1e"})[0], 401)
        self.assertEqual(srv.json("POST", "/v1/score", lead(1))[0], 401)
        srv.stop()
        with open(os.path.join(self.tmp, "audit.log"), "rb") as f:
            raw = f.read()
        lines = [json.loads(x) for x in raw.splitlines()]
        self.assertEqual([(l["action"], l["outcome"], l["route"]) for l in lines],
                         [("model_reload", "unchanged", "/v1/model/reload"), ("erase", "ok", "/v1/erase"),
                          ("auth", "insufficient_scope", "/v1/erase"), ("auth", "invalid_key", "/v1/score"),
                          ("auth", "missing_key", "/v1/score")])
        self.assertEqual(lines[2]["key_id"], "key#1")  # the score key, by position
        for l in lines:
            self.assertTrue(l["ts"].endswith("Z") and l["request_id"], l)
        for secret in (b"e2e-score-key", b"e2e-admin-key", b"not-a-key-5c1e", b"AU-1"):
            self.assertNotIn(secret, raw)

    def test_withdrawal_cancels_queued_pushes(self):
        srv = self.server("--crm-url", "http://127.0.0.1:%d/" % free_port())
        score(srv, lead(5, lead_id="W-1"))
        _, _, rec = srv.json("GET", "/v1/leads/W-1/record", None, ADMIN)
        self.assertEqual(len(rec["crm"]["pending"]), 1)
        self.assertEqual(len(rec["cache"]), 1)
        status, _, r = score(srv, lead(5, lead_id="W-1", consent=False))
        self.assertEqual(status, 200)
        self.assertFalse(r["cached"])
        _, _, rec = wait_for(lambda: (lambda x: x if not x[2]["crm"]["pending"] else None)(
            srv.json("GET", "/v1/leads/W-1/record", None, ADMIN)), 10)
        self.assertEqual(rec["crm"]["pending"], [])
        self.assertEqual(rec["cache"], [])

    def test_pii_lead_id_and_minor_refused(self):
        srv = self.server()
        status, _, r = score(srv, lead(1, lead_id="+919812345670"))
        self.assertEqual(status, 422)
        self.assertEqual(r["error"]["code"], "lead_id_looks_like_pii")
        status, _, r = srv.json("POST", "/v1/erase", {"lead_id": "9812345670"}, ADMIN)
        self.assertEqual(status, 422)
        self.assertEqual(r["error"]["code"], "lead_id_looks_like_pii")
        seed = ServerProc(BIN, ["--model", model_dir("seed"), "--data-dir", self.tmp]).start()
        self.cleanups.append(seed.cleanup)
        body = {"lead_id": "M-1", "age": 16, "city": "Pune", "city_tier": 1, "num_site_visits": 3}
        status, _, r = seed.json("POST", "/v1/score", body, KEY)
        self.assertEqual(status, 422)
        self.assertEqual(r["error"]["code"], "minor_not_processed")


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    MODELS = sys.argv.pop(1)
    if len(sys.argv) > 1 and os.path.isfile(sys.argv[1]):  # the optional tool, not a test name
        MAKE_MINILM = sys.argv.pop(1)
    unittest.main(verbosity=2)
