"""Privacy canary (issue 9, docs/PRIVACY.md): leads carrying unique names, phones, e-mails,
PAN- and Aadhaar-like strings in PII fields, notes and unknown fields go through /v1/score
(single, batch), /score and /v1/rerank (when served); then every byte the server wrote (stderr
log, stdout, the --data-dir contents incl. audit.log and outbox files, responses, /metrics) is
searched for the canaries: zero hits.

Crash dumps (class CrashDumps): the server is crashed with SIGSEGV and SIGABRT right after
scoring canary leads, in a temporary working directory with `ulimit -c unlimited`; no core may
appear and nothing it left behind may hold a canary (see the class for what core_pattern means
for this test).

Usage: python3 privacy_canary_test.py <leadscore binary> <models dir>"""
import fnmatch
import os
import resource
import signal
import subprocess
import sys
import tempfile
import shutil
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverproc import ServerProc  # noqa: E402
import http_integration_test as hit  # noqa: E402  (its Redis and Receiver helpers)

warnings.simplefilter("ignore", ResourceWarning)
BIN = ""
MODELS = ""
KEY = {"Authorization": "Bearer e2e-all-key"}

CANARIES = {
    "name": "Philomena Wraxhurst",
    "phone": "+91 98765 43012",
    "email": "pw.canary.4471@example.in",
    "pan": "QZXPW4471K",
    "aadhaar": "4471 9382 6650",
}
# Fragments that must not survive either (digits of the phone, local part, surname).
NEEDLES = list(CANARIES.values()) + ["9876543012", "98765 43012", "43012", "pw.canary.4471",
                                     "Wraxhurst", "Philomena", "QZXPW4471K", "938266", "9382 6650"]


def notes():
    c = CANARIES
    return ("Call %s or 0%s, mail %s. PAN %s, Aadhaar %s. Ask for %s, wants 2BHK ready to move" % (
        c["phone"], c["phone"][4:].replace(" ", "-"), c["email"], c["pan"], c["aadhaar"], c["name"]))


def real_estate_lead(i):
    c = CANARIES
    return {"lead_id": "PC-%d" % i, "source": "99acres", "city": "Pune", "transaction_type": "Buy",
            "property_type": "Apartment", "bhk": 2, "budget_lakh": "90L", "loan_preapproved": True,
            "purpose": "Self-use", "site_visit_scheduled": i % 2 == 0, "site_visits_done": 1,
            "calls_attempted": 4, "calls_answered": 2, "whatsapp_replies": 3, "email_opens": 1,
            "page_views": 12, "time_on_site_s": 240.0, "days_since_enquiry": 3, "first_response_min": 9,
            "consent": True, "notes": notes(),
            "name": c["name"], "phone": c["phone"], "email": c["email"],
            "x_contact": c["phone"], "x_pan": c["pan"], "x_aadhaar": c["aadhaar"], "x_name": c["name"]}


def seed_lead(i):
    c = CANARIES
    return {"lead_id": "PS-%d" % i, "name": c["name"], "age": 34, "city": "Pune", "city_tier": 1,
            "occupation": "Salaried", "income_bracket": "10-20L", "education_level": "Graduate",
            "num_site_visits": 3, "avg_time_on_page": 42.0, "form_filled": True, "whatsapp_reply_count": 2,
            "clicked_ad": True, "bounced": False, "referral_source": "SEO", "ip_geolocation_verified": True,
            "device_type": "Mobile", "campaign_id": "CAMP002", "crm_segment_tag": "A",
            "linkedin_profile_exists": True, "news_sentiment_about_company": 0.2, "company_size": "50-200",
            "industry_type": "Tech", "x_phone": c["phone"], "x_email": c["email"]}


def files_under(d):
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                yield p, f.read().decode("utf-8", errors="replace")


class CanaryTestCase(unittest.TestCase):
    def assert_clean(self, where, text):
        for n in NEEDLES:
            self.assertNotIn(n, text, "canary %r found in %s" % (n, where))

    def assert_server_clean(self, seen, srv, data_dir):
        """No canary in the (where, response) pairs `seen`, the stopped server's stderr and
        stdout, or any file under `data_dir`."""
        for where, r in seen:
            self.assert_clean("response of " + where, r[2].decode("utf-8", errors="replace"))
        self.assert_clean("stderr log", srv.log())
        self.assert_clean("stdout", srv.stdout())
        for path, text in files_under(data_dir):
            self.assert_clean(path, text)


class PrivacyCanary(CanaryTestCase):
    def run_server(self, model, leads, single_route, extra_posts=()):
        data_dir = tempfile.mkdtemp(prefix="leadscore-canary-")
        args = ["--model", os.path.join(MODELS, model, "latest"), "--data-dir", data_dir]
        srv = ServerProc(BIN, args).start()
        try:
            seen = []
            for lead in leads:
                seen.append((single_route, srv.request("POST", single_route, body=lead, headers=KEY)))
            if single_route == "/v1/score":
                seen.append(("batch", srv.request("POST", "/v1/score", body={"leads": leads}, headers=KEY)))
                # Refused items (PII ids, bad values) must not echo anything either.
                bad = [dict(leads[0], lead_id=CANARIES["phone"]), dict(leads[0], lead_id=CANARIES["email"]),
                       dict(leads[0], bhk=CANARIES["aadhaar"])]
                seen.append(("bad batch", srv.request("POST", "/v1/score", body={"leads": bad}, headers=KEY)))
                for b in bad:
                    seen.append(("bad single", srv.request("POST", "/v1/score", body=b, headers=KEY)))
            for path, body in extra_posts:
                seen.append((path, srv.request("POST", path, body=body, headers=KEY)))
                self.assertEqual(seen[-1][1][0], 200, (path, seen[-1][1][2][:300]))
            seen.append(("/metrics", srv.request("GET", "/metrics")))
            self.assertTrue(any(r[0] == 200 for _, r in seen), "nothing was scored: %r" % (seen[:2],))
            srv.stop()
            self.assert_server_clean(seen, srv, data_dir)
        finally:
            srv.cleanup()
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_v1_score_single_batch_and_rerank(self):
        leads = [real_estate_lead(i) for i in range(4)]
        rerank = {"target_intent": "2BHK ready to move in Pune, call %s" % CANARIES["phone"],
                  "leads": leads, "top_k": 3}
        self.run_server("real_estate", leads, "/v1/score", extra_posts=[("/v1/rerank", rerank)])

    def test_original_score_route(self):
        self.run_server("seed", [seed_lead(i) for i in range(3)], "/score")


class PrivacyCanaryEverywhere(CanaryTestCase):
    """The same canaries, plus contact data typed into category fields, through every store at
    once: a two-level cache on a real redis-server, the CRM outbox delivering to a real
    crm-receiver, /v1/score, /score-style batches, both rerank routes, the access record and
    erasure. Then the server's log and files, the receiver's store and output, and every Redis
    key and value (DUMP) must hold no canary."""

    def test_no_canary_in_any_store_log_or_payload(self):
        hit.BIN = BIN
        tmp = tempfile.mkdtemp(prefix="leadscore-canary-all-")
        self.addCleanup(shutil.rmtree, tmp, True)
        rd = hit.Redis().start()
        self.addCleanup(rd.kill)
        rc = hit.Receiver(os.path.join(tmp, "received.jsonl")).start()
        self.addCleanup(rc.stop)
        data_dir = os.path.join(tmp, "data")
        srv = ServerProc(BIN, ["--model", os.path.join(MODELS, "real_estate", "latest"),
                               "--data-dir", data_dir, "--cache", "two-level", "--redis", rd.url,
                               "--redis-timeout-ms", "1000", "--crm-url", rc.url],
                         env={"LEADSCORE_CACHE_SECRET": hit.CACHE_SECRET,
                              "LEADSCORE_CRM_SECRET": hit.CRM_SECRET}).start()
        self.addCleanup(srv.cleanup)
        c = CANARIES
        leads = [real_estate_lead(i) for i in range(4)]
        leads[1].update(locality=c["phone"], pipeline_stage=c["email"], sale_type=c["pan"],
                        possession_preference=c["aadhaar"], last_call_outcome=c["name"])
        seen = []
        def post(path, body):
            seen.append((path, srv.request("POST", path, body=body, headers=KEY)))
            return seen[-1][1]
        for l in leads:
            self.assertEqual(post("/v1/score", l)[0], 200)
        self.assertEqual(post("/v1/score", {"leads": leads})[0], 200)
        rerank = {"target_intent": "2BHK in Pune, call %s" % c["phone"], "leads": leads}
        self.assertEqual(post("/v1/rerank", rerank)[0], 200)
        self.assertEqual(post("/rerank", rerank)[0], 200)
        seen.append(("record", srv.request("GET", "/v1/leads/PC-1/record", headers=KEY)))
        self.assertEqual(seen[-1][1][0], 200)
        for encoded in ("pw.canary.4471%40example.in", "%2B91%2098765%2043012"):
            seen.append(("record " + encoded, srv.request("GET", "/v1/leads/%s/record" % encoded,
                                                          headers=KEY)))
            self.assertEqual(seen[-1][1][0], 422)
        self.assertEqual(post("/v1/erase", {"lead_id": "PC-3"})[0], 200)
        # Every consenting score was pushed: 4 singles + 4 in the batch, less PC-3's, erased.
        self.assertTrue(hit.wait_for(lambda: srv.metric("leadscore_crm_outbox_depth") == 0, 30))
        self.assertGreaterEqual(len(rc.events()), 6)
        seen.append(("/metrics", srv.request("GET", "/metrics")))
        srv.stop()
        rc.stop()
        self.assert_server_clean(seen, srv, tmp)  # tmp: the data dir and the receiver's store
        with open(rc.out.name, errors="replace") as f:
            self.assert_clean("receiver output", f.read())
        keys = [k for k in rd.cli_bytes("--scan").split(b"\n") if k]
        self.assertGreater(len(keys), 0, "nothing reached Redis")
        for k in keys:
            self.assert_clean("redis key", k.decode("latin-1"))
            self.assert_clean("redis value of %r" % k, rd.cli_bytes("DUMP", k).decode("latin-1"))


def core_pattern():
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            return f.read().strip()
    except OSError:
        return ""


def core_uses_pid():
    try:
        with open("/proc/sys/kernel/core_uses_pid") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def ulimit_core_unlimited():
    """`ulimit -c unlimited` in the child before exec (up to the hard limit we may raise to)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


class CrashDumps(unittest.TestCase):
    """A crashing server must not leave PII in a core dump.

    What the kernel does with a crash is set by /proc/sys/kernel/core_pattern, which the test
    reads:
    - a file pattern ("core", "core.%p", "/var/crash/core.%e.%p"): the kernel writes the core
      itself, relative to the crashing process's working directory or at the absolute path. The
      test looks there (a temporary cwd of its own for relative patterns) for any new file the
      pattern can name, and runs a positive control: the same crash with --allow-core-dumps must
      produce a core, so "no core" is not an artefact of this machine.
    - a pipe ("|/usr/lib/systemd/systemd-coredump ...", apport): the core is streamed to a
      handler whose store this test cannot read. The kernel's own word is then the check: the
      wait status's core-dumped bit (WCOREDUMP), which it sets when it wrote a core to a file
      or a pipe. No positive control (the handler may drop or rate-limit dumps).
    In every case: WCOREDUMP is clear, /proc/<pid>/limits shows a core limit of 0 (soft and hard)
    while the server runs, and no file in its cwd, data dir, stderr log or stdout holds a canary.
    Not covered: a handler configured to ignore RLIMIT_CORE on a host with fs.suid_dumpable=2
    (the dumpable flag is then the only guard; see docs/PRIVACY.md)."""

    def crash(self, sig, allow_dumps=False):
        cwd = tempfile.mkdtemp(prefix="leadscore-crash-")
        self.addCleanup(shutil.rmtree, cwd, True)
        args = ["--model", os.path.join(MODELS, "real_estate", "latest"),
                "--data-dir", os.path.join(cwd, "var")]
        if allow_dumps:
            args.append("--allow-core-dumps")
        srv = ServerProc(BIN, args, cwd=cwd, preexec_fn=ulimit_core_unlimited).start()
        self.addCleanup(srv.cleanup)
        with open("/proc/%d/limits" % srv.proc.pid) as f:
            limits = [l for l in f.read().splitlines() if l.startswith("Max core file size")][0]
        leads = [real_estate_lead(i) for i in range(4)]
        seen = [srv.request("POST", "/v1/score", body=l, headers=KEY) for l in leads]
        seen.append(srv.request("POST", "/v1/score", body={"leads": leads}, headers=KEY))
        seen.append(srv.request("POST", "/v1/rerank", headers=KEY, body={
            "target_intent": "2BHK ready to move, call %s" % CANARIES["phone"], "leads": leads}))
        self.assertTrue(all(r[0] == 200 for r in seen), [r[0] for r in seen])
        started = time.time() - 1
        os.kill(srv.proc.pid, sig)
        _, status = os.waitpid(srv.proc.pid, 0)  # the raw status: WCOREDUMP is not in Popen
        srv.proc.returncode = -sig
        self.assertTrue(os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig, status)
        return srv, cwd, status, limits, self.cores(cwd, srv.proc.pid, started)

    def cores(self, cwd, pid, since):
        """Files the kernel may have written for this crash under a file core_pattern."""
        pattern = core_pattern()
        if not pattern or pattern.startswith("|"):
            return []
        path = pattern if os.path.isabs(pattern) else os.path.join(cwd, pattern)
        directory = os.path.dirname(path)
        name = path[len(directory) + 1:].replace("%%", "%")
        for spec in "pPiIuUgdsthHeEfc":
            name = name.replace("%" + spec, "*")
        if core_uses_pid() and "%p" not in pattern:
            name += "*"
        found = []
        try:
            for n in os.listdir(directory):
                p = os.path.join(directory, n)
                if fnmatch.fnmatch(n, name) and os.path.isfile(p) and os.path.getmtime(p) >= since:
                    found.append(p)
        except OSError:
            pass
        return found

    def assert_clean_after_crash(self, srv, cwd):
        for path, text in files_under(cwd):
            for n in NEEDLES:
                self.assertNotIn(n, text, "canary %r found in %s" % (n, path))
        for where, text in (("stderr log", srv.log()), ("stdout", srv.stdout())):
            for n in NEEDLES:
                self.assertNotIn(n, text, "canary %r found in %s" % (n, where))

    def test_no_core_dump_after_sigsegv_or_sigabrt(self):
        print("\ncore_pattern=%r core_uses_pid=%s" % (core_pattern(), core_uses_pid()), file=sys.stderr)
        for sig in (signal.SIGSEGV, signal.SIGABRT):
            with self.subTest(signal=sig.name):
                srv, cwd, status, limits, cores = self.crash(sig)
                self.assertEqual(limits.split()[4:6], ["0", "0"], limits)
                self.assertFalse(os.WCOREDUMP(status), "the kernel reports a core dump")
                self.assertEqual(cores, [])
                self.assert_clean_after_crash(srv, cwd)

    def test_positive_control_allow_core_dumps_does_dump(self):
        pattern = core_pattern()
        if not pattern or pattern.startswith("|"):
            self.skipTest("core_pattern %r pipes cores to a handler this test cannot read" % pattern)
        if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
            self.skipTest("the hard core limit is 0 here: no process can dump")
        if os.path.isabs(pattern) and not os.access(os.path.dirname(pattern), os.W_OK):
            self.skipTest("cannot write to the core_pattern directory")
        srv, cwd, status, limits, cores = self.crash(signal.SIGSEGV, allow_dumps=True)
        for c in cores:
            self.addCleanup(lambda p=c: os.path.exists(p) and os.unlink(p))
        self.assertTrue(os.WCOREDUMP(status), "no core even with --allow-core-dumps: %s" % limits)
        self.assertEqual(len(cores), 1, cores)
        with open(cores[0], "rb") as f:
            data = f.read()
        hits = sorted({n for n in NEEDLES if n.encode() in data})
        # Informational: why the protection exists (request bodies live in freed heap memory).
        print("\ncore of %d bytes; canaries in it: %s" % (len(data), hits), file=sys.stderr)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if len(args) < 2:
        sys.exit("usage: privacy_canary_test.py <leadscore binary> <models dir>")
    BIN, MODELS = os.path.abspath(args[0]), os.path.abspath(args[1])  # crash runs chdir
    sys.argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a.startswith("-")]
    unittest.main(verbosity=2)
