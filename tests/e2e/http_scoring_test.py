"""End-to-end tests of scoring over HTTP with real trained models (see make_models.py):
single and batch scoring, per-item errors in order, batch limit, missing fields, the original
prototype's POST /score body, model info, atomic reload (good and bad models, SIGHUP, under
load), graceful shutdown mid-request, and PII canaries in logs and responses.

Usage: python3 http_scoring_test.py <leadscore binary> <models dir>"""
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverproc import ServerProc, read_responses, wait_until  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)
BIN = ""
MODELS = ""
KEY = {"Authorization": "Bearer e2e-score-key"}
ADMIN = {"X-API-Key": "e2e-admin-key"}


def lead(i, **over):
    d = {"lead_id": "L-%d" % i, "source": ["99acres", "MagicBricks", "Housing.com"][i % 3],
         "city": ["Mumbai", "Pune", "Bengaluru"][i % 3], "transaction_type": "Buy",
         "property_type": "Apartment", "bhk": 1 + i % 4, "budget_lakh": ["90L", "1.2 cr", 75, "80 lakh - 1 crore"][i % 4],
         "loan_preapproved": i % 2 == 0, "purpose": "Self-use", "site_visit_scheduled": i % 3 == 0,
         "site_visits_done": i % 3, "calls_attempted": 3 + i % 5, "calls_answered": i % 4,
         "whatsapp_replies": i % 7, "email_opens": i % 5, "page_views": 5 + i, "time_on_site_s": 60.5 * (1 + i % 9),
         "days_since_enquiry": i % 30, "first_response_min": 5 + i % 50, "consent": True,
         "notes": "Wants a 2BHK near the metro, ready to move"}
    d.update(over)
    return d


SEED_BODY = {"lead_id": "S-1", "name": "Asha Rao", "age": 34, "city": "Pune", "city_tier": 1,
             "occupation": "Salaried", "income_bracket": "10-20L", "education_level": "Graduate",
             "num_site_visits": 3, "avg_time_on_page": 42.5, "form_filled": True, "whatsapp_reply_count": 2,
             "clicked_ad": False, "bounced": False, "referral_source": "SEO", "ip_geolocation_verified": True,
             "device_type": "Mobile", "campaign_id": "CAMP002", "crm_segment_tag": "A",
             "linkedin_profile_exists": True, "news_sentiment_about_company": 0.3, "company_size": "50-200",
             "industry_type": "Tech"}

RESULT_KEYS = {"lead_id", "intent_score", "score", "grade", "percentile", "reasons", "model_version",
               "cached", "missing_fields"}


def model_dir(name):
    return os.path.join(MODELS, name, "latest")


def version_of(name):
    with open(os.path.join(model_dir(name), "manifest.json")) as f:
        m = json.load(f)
    return m.get("version") or m.get("model_version")


class Scoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # No cache: these tests compare fresh scores (cached answers: http_integration_test.py).
        cls.srv = ServerProc(BIN, ["--model", model_dir("real_estate"), "--max-batch", "50",
                                   "--cache", "none"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def check_result(self, r, lead_id):
        self.assertEqual(set(r.keys()), RESULT_KEYS)
        self.assertEqual(r["lead_id"], lead_id)
        self.assertGreaterEqual(r["intent_score"], 0)
        self.assertLessEqual(r["intent_score"], 1)
        self.assertEqual(r["score"], round(100 * r["intent_score"]))
        self.assertIn(r["grade"], "ABCD")
        self.assertTrue(0 <= r["percentile"] <= 100)
        self.assertLessEqual(len(r["reasons"]), 3)
        for reason in r["reasons"]:
            self.assertEqual(set(reason.keys()), {"feature", "value", "impact", "text"})
            self.assertTrue(reason["text"])
        impacts = [abs(x["impact"]) for x in r["reasons"]]
        self.assertEqual(impacts, sorted(impacts, reverse=True))
        self.assertFalse(r["cached"])

    def test_single(self):
        status, h, body = self.srv.json("POST", "/v1/score", body=lead(1), headers=KEY)
        self.assertEqual(status, 200, body)
        self.check_result(body, "L-1")
        _, _, info = self.srv.json("GET", "/v1/model", headers=KEY)
        self.assertEqual(body["model_version"], info["model_version"])
        self.assertEqual(body["missing_fields"], ["locality", "sale_type", "possession_preference",
                                                  "last_call_outcome", "pipeline_stage"])

    def test_readyz_and_model_info_metric(self):
        status, _, body = self.srv.json("GET", "/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        _, _, info = self.srv.json("GET", "/v1/model", headers=KEY)
        _, _, text = self.srv.request("GET", "/metrics")
        self.assertIn(('leadscore_model_info{version="%s"} 1' % info["model_version"]).encode(), text)

    def test_model_info(self):
        status, _, info = self.srv.json("GET", "/v1/model", headers=KEY)
        self.assertEqual(status, 200)
        self.assertEqual(info["model_version"], version_of("real_estate"))
        self.assertIn("bhk", info["features"])
        self.assertNotIn("phone", info["features"])
        self.assertTrue(info["metrics"])
        self.assertEqual(info["schema"]["name"], "real_estate")

    def test_batch_in_order_with_item_errors(self):
        leads = [lead(i) for i in range(6)]
        leads[2]["bhk"] = "many"
        leads[4]["budget_lakh"] = "lots of money"
        status, _, body = self.srv.json("POST", "/v1/score", body={"leads": leads}, headers=KEY)
        self.assertEqual(status, 200, body)
        res = body["results"]
        self.assertEqual(len(res), 6)
        for i, r in enumerate(res):
            if i == 2:
                self.assertEqual(r["index"], 2)
                self.assertEqual(r["lead_id"], "L-2")
                self.assertEqual(r["error"]["code"], "field_type_mismatch")
                self.assertEqual(r["error"]["field"], "bhk")
            elif i == 4:
                self.assertEqual(r["error"]["code"], "invalid_money")
                self.assertEqual(r["error"]["field"], "budget_lakh")
            else:
                self.check_result(r, "L-%d" % i)
                # A batch item scores exactly like the same lead alone.
                _, _, single = self.srv.json("POST", "/v1/score", body=leads[i], headers=KEY)
                self.assertEqual(single, r)

    def test_batch_too_large(self):
        status, _, body = self.srv.json("POST", "/v1/score", body={"leads": [lead(i) for i in range(51)]},
                                        headers=KEY)
        self.assertEqual(status, 413)
        self.assertEqual(body["error"]["code"], "batch_too_large")
        self.assertEqual(body["error"]["field"], "leads")
        status, _, body = self.srv.json("POST", "/v1/score", body={"leads": [lead(i) for i in range(50)]},
                                        headers=KEY)
        self.assertEqual(status, 200)
        self.assertEqual(len(body["results"]), 50)

    def test_malformed_batch_is_refused_not_scored_as_one_lead(self):
        for leads in [5, {}, lead(1), None, "L-1"]:
            status, _, body = self.srv.json("POST", "/v1/score", body={"leads": leads}, headers=KEY)
            self.assertEqual(status, 422, body)
            self.assertEqual(body["error"]["code"], "invalid_batch")
            self.assertEqual(body["error"]["field"], "leads")
            self.assertIn("array of lead objects", body["error"]["message"])
        # The prototype's /score takes one flat lead: there `leads` is just an (unknown) field.
        status, _, body = self.srv.json("POST", "/score", body=dict(lead(1), leads=5), headers=KEY)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["lead_id"], "L-1")

    def test_schema_violation_names_field(self):
        for over, code, field in [({"bhk": 99}, "field_out_of_range", "bhk"),
                                  ({"loan_preapproved": "perhaps"}, "field_type_mismatch", "loan_preapproved"),
                                  ({"lead_id": "9876543210"}, "lead_id_looks_like_pii", "lead_id")]:
            status, _, body = self.srv.json("POST", "/v1/score", body=lead(3, **over), headers=KEY)
            self.assertEqual(status, 422, body)
            self.assertEqual(body["error"]["code"], code)
            self.assertEqual(body["error"]["field"], field)
            self.assertNotIn("9876543210", json.dumps(body))
        status, _, body = self.srv.json("POST", "/v1/score", body=[1, 2], headers=KEY)
        self.assertEqual(status, 422)
        self.assertEqual(body["error"]["code"], "not_an_object")

    def test_missing_fields_are_scored_and_listed(self):
        status, _, body = self.srv.json("POST", "/v1/score", body={"lead_id": "empty-1"}, headers=KEY)
        self.assertEqual(status, 200, body)
        _, _, info = self.srv.json("GET", "/v1/model", headers=KEY)
        self.assertEqual(body["missing_fields"], info["features"])

    def test_scope_and_errors_on_score_routes(self):
        for path in ["/v1/score", "/score"]:
            status, _, body = self.srv.json("POST", path, body=lead(1))
            self.assertEqual(status, 401)
            status, _, body = self.srv.json("POST", path, body=lead(1), headers=ADMIN)
            self.assertEqual(status, 403)
            status, _, body = self.srv.json("POST", path, body="{", headers={**KEY, "Content-Type": "application/json"})
            self.assertEqual((status, body["error"]["code"]), (400, "invalid_json"))
            status, _, body = self.srv.json("POST", path, body=json.dumps(lead(1)),
                                            headers={**KEY, "Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual((status, body["error"]["code"]), (415, "unsupported_media_type"))
            status, h, body = self.srv.json("GET", path, headers=KEY)
            self.assertEqual((status, h["allow"]), (405, "POST"))

    def test_pipelined_scores(self):
        s = self.srv.connect()
        req = b""
        for i in range(5):
            b = json.dumps(lead(i)).encode()
            req += (b"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer e2e-score-key\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b)) + b
        s.sendall(req)
        got = read_responses(s, 5)
        self.assertEqual([json.loads(r[2])["lead_id"] for r in got], ["L-%d" % i for i in range(5)])
        s.close()


class LargeBatch(unittest.TestCase):
    """Batches of >= 256 leads are scored by several workers; results must stay in order."""

    @classmethod
    def setUpClass(cls):
        cls.srv = ServerProc(BIN, ["--model", model_dir("real_estate"), "--cache", "none"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_large_batch_keeps_order_and_item_errors_across_workers(self):
        n = 701
        leads = [lead(i, page_views=5 + i % 97, days_since_enquiry=i % 45) for i in range(n)]
        bad = {0, 255, 256, 349, 350, 351, 699, 700}  # both ends and around every split point
        for i in bad:
            leads[i]["bhk"] = "many"
        status, _, body = self.srv.json("POST", "/v1/score", body={"leads": leads}, headers=KEY)
        self.assertEqual(status, 200)
        res = body["results"]
        self.assertEqual(len(res), n)
        singles = {}
        for i in sorted(bad | set(range(1, n, 25)) | {254, 257, 348, 352, 698}):
            if i not in bad:
                _, _, singles[i] = self.srv.json("POST", "/v1/score", body=leads[i], headers=KEY)
        for i, r in enumerate(res):
            if i in bad:
                self.assertEqual(r["index"], i)
                self.assertEqual(r["lead_id"], "L-%d" % i)
                self.assertEqual(r["error"]["code"], "field_type_mismatch")
            else:
                self.assertEqual(r["lead_id"], "L-%d" % i)
                if i in singles:
                    self.assertEqual(singles[i], r)


    def test_concurrent_large_batches_each_get_their_own_results(self):
        # Several large batches at once share the helper threads; each answer must be its own.
        import threading
        batches = [[lead(i, lead_id="K%d-%d" % (b, i), page_views=5 + (i * (b + 3)) % 89)
                    for i in range(300 + 50 * b)] for b in range(4)]
        expected = []
        for leads in batches:
            status, _, body = self.srv.json("POST", "/v1/score", body={"leads": leads}, headers=KEY)
            self.assertEqual(status, 200)
            expected.append(body)
        got = [None] * len(batches)

        def post(b):
            conn_status, _, body = self.srv.json("POST", "/v1/score", body={"leads": batches[b]}, headers=KEY)
            got[b] = (conn_status, body)

        threads = [threading.Thread(target=post, args=(b,)) for b in range(len(batches))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for b in range(len(batches)):
            self.assertIsNotNone(got[b], "batch %d got no answer" % b)
            self.assertEqual(got[b][0], 200)
            self.assertEqual(got[b][1], expected[b])


class LegacyScore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ServerProc(BIN, ["--model", model_dir("seed")]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_original_body(self):
        status, _, body = self.srv.json("POST", "/score", body=SEED_BODY, headers=KEY)
        self.assertEqual(status, 200, body)
        self.assertIsInstance(body["intent_score"], float)
        self.assertIs(body["cached"], False)
        self.assertEqual(body["missing_fields"], [])
        self.assertEqual(set(body.keys()), RESULT_KEYS)
        self.assertNotIn("Asha", json.dumps(body))

    def test_missing_field_is_scored_not_refused(self):
        b = dict(SEED_BODY)
        del b["income_bracket"]
        del b["device_type"]
        status, _, body = self.srv.json("POST", "/score", body=b, headers=KEY)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["missing_fields"], ["income_bracket", "device_type"])

    def test_minor_not_processed(self):
        status, _, body = self.srv.json("POST", "/score", body=dict(SEED_BODY, age=16), headers=KEY)
        self.assertEqual(status, 422)
        self.assertEqual((body["error"]["code"], body["error"]["field"]), ("minor_not_processed", "age"))


class Reload(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="leadscore-reload-")
        self.a = os.path.realpath(model_dir("real_estate"))
        self.b = os.path.realpath(model_dir("real_estate_b"))
        self.link = os.path.join(self.tmp, "current")
        os.symlink(self.a, self.link)
        self.srv = ServerProc(BIN, ["--model", self.link]).start()

    def tearDown(self):
        self.srv.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def point_to(self, target):
        tmp_link = self.link + ".new"
        os.symlink(target, tmp_link)
        os.replace(tmp_link, self.link)

    def served_version(self):
        return self.srv.json("GET", "/v1/model", headers=KEY)[2]["model_version"]

    def test_reload_good_then_bad(self):
        va, vb = self.served_version(), version_of("real_estate_b")
        self.assertNotEqual(va, vb)
        status, _, body = self.srv.json("POST", "/v1/model/reload", headers=ADMIN)
        self.assertEqual((status, body["status"], body["model_version"]), (200, "unchanged", va))
        self.point_to(self.b)
        status, _, body = self.srv.json("POST", "/v1/model/reload", headers=ADMIN)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["status"], body["model_version"], body["previous_version"]), ("reloaded", vb, va))
        self.assertEqual(self.served_version(), vb)
        self.assertEqual(self.srv.json("POST", "/v1/score", body=lead(1), headers=KEY)[2]["model_version"], vb)
        # A corrupt model is rejected; the old one keeps serving.
        bad = os.path.join(self.tmp, "bad")
        shutil.copytree(self.b, bad)
        with open(os.path.join(bad, "model.json"), "r+") as f:
            f.truncate(100)
        self.point_to(bad)
        status, _, body = self.srv.json("POST", "/v1/model/reload", headers=ADMIN)
        self.assertEqual((status, body["error"]["code"]), (422, "model_load_failed"), body)
        self.assertEqual(self.served_version(), vb)
        status, _, body = self.srv.json("POST", "/v1/score", body=lead(2), headers=KEY)
        self.assertEqual((status, body["model_version"]), (200, vb))
        self.assertIn('"action":"model_reload","outcome":"rejected"', self.srv.log())

    def test_sighup_reloads(self):
        self.point_to(self.b)
        self.srv.proc.send_signal(signal.SIGHUP)
        vb = version_of("real_estate_b")
        deadline = time.time() + 20
        while time.time() < deadline and self.served_version() != vb:
            time.sleep(0.05)
        self.assertEqual(self.served_version(), vb)

    def test_reload_under_load_drops_nothing(self):
        stop = threading.Event()
        failures, count = [], [0]

        def hammer():
            s = self.srv.connect()
            b = json.dumps(lead(5)).encode()
            req = (b"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer e2e-score-key\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b)) + b
            while not stop.is_set():
                s.sendall(req)
                (st, _, _), = read_responses(s, 1)
                count[0] += 1
                if st != 200:
                    failures.append(st)
            s.close()

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        for target in [self.b, self.a, self.b, self.a]:
            self.point_to(target)
            status, _, _ = self.srv.json("POST", "/v1/model/reload", headers=ADMIN)
            self.assertEqual(status, 200)
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 0)


class Shutdown(unittest.TestCase):
    def test_sigterm_completes_inflight_score(self):
        srv = ServerProc(BIN, ["--model", model_dir("real_estate")]).start()
        try:
            s = srv.connect()
            b = json.dumps(lead(7)).encode()
            s.sendall((b"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer e2e-score-key\r\n"
                       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b)) + b[:20])
            # SIGTERM only once the server holds the request (in flight: it and /metrics).
            self.assertTrue(wait_until(lambda: (srv.metric("leadscore_http_requests_in_flight") or 0) >= 2),
                            "the request never got in flight")
            srv.proc.send_signal(signal.SIGTERM)
            # The answer says Connection: close only if the server is draining when it writes
            # it; a fixed sleep can be outlasted before the io thread handles the signal. The
            # drain sets its flag, then closes the listening socket: poll for the refusal.
            self.assertTrue(wait_until(srv.refuses_connections), "the server never began draining")
            s.sendall(b[20:])
            (st, h, data), = read_responses(s, 1)
            self.assertEqual((st, json.loads(data)["lead_id"], h.get("connection")), (200, "L-7", "close"))
            self.assertEqual(srv.proc.wait(10), 0)
        finally:
            srv.cleanup()


class Privacy(unittest.TestCase):
    def test_pii_canaries_absent_from_logs_and_responses(self):
        canaries = {"name": "Zenobia Quillfeather", "phone": "+91 99887 66554", "email": "zq.canary77@example.org"}
        srv = ServerProc(BIN, ["--model", model_dir("real_estate")]).start()
        try:
            leads = []
            for i in range(4):
                leads.append(lead(i, name=canaries["name"], phone=canaries["phone"], email=canaries["email"],
                                  notes="call me on %s or mail %s, ask for %s" % (
                                      canaries["phone"], canaries["email"], canaries["name"]),
                                  unknown_contact=canaries["phone"]))
            bodies = []
            bodies.append(srv.request("POST", "/v1/score", body=leads[0], headers=KEY)[2])
            bodies.append(srv.request("POST", "/v1/score", body={"leads": leads}, headers=KEY)[2])
            # Failing items and refused ids must not echo anything either.
            bad = [dict(leads[1], bhk="x"), dict(leads[2], lead_id=canaries["phone"]),
                   dict(leads[3], lead_id=canaries["email"])]
            bodies.append(srv.request("POST", "/v1/score", body={"leads": bad}, headers=KEY)[2])
            for b in bad:
                bodies.append(srv.request("POST", "/v1/score", body=b, headers=KEY)[2])
            bodies.append(srv.request("GET", "/metrics")[2])
            srv.stop()
            log = srv.log()
            self.assertIn('"lead_id":"L-0"', log)  # single-lead requests log their (safe) id
            needles = list(canaries.values()) + ["99887", "66554", "zq.canary77", "Quillfeather", "Zenobia"]
            for hay in [log] + [b.decode(errors="replace") for b in bodies]:
                for n in needles:
                    self.assertNotIn(n, hay)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if len(args) < 2:
        sys.exit("usage: http_scoring_test.py <leadscore binary> <models dir>")
    BIN, MODELS = args[0], args[1]
    sys.argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a.startswith("-")]
    unittest.main(verbosity=2)
