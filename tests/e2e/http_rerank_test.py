"""End-to-end tests of POST /v1/rerank and POST /rerank with a real trained model (make_models.py):
request validation, ordering by combined score (weight 0 = intent order, weight 1 = similarity
order), top_k, given intent scores, per-lead errors, the original prototype's /rerank, PII
canaries in responses and logs, the console's static files, and (with synthetic MiniLM weights)
the embedding cache: a second rerank of the same leads encodes only the new intent.

Usage: python3 http_rerank_test.py <leadscore binary> <models dir> [make_synthetic_minilm]"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverproc import ServerProc  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)
BIN = ""
MODELS = ""
MAKE_MINILM = ""
KEYS = "e2e-rerank-key:rerank;e2e-score-key:score;e2e-admin-key:admin"
RR = {"Authorization": "Bearer e2e-rerank-key"}
SC = {"Authorization": "Bearer e2e-score-key"}

PHONE, EMAIL, NAME = "98765 43210", "canary.person@example.com", "Canary Zebulon"

LEADS = [
    dict(lead_id="R-1", city="Bengaluru", locality="Whitefield", property_type="Apartment", bhk=3,
         budget_lakh="1.4 cr", loan_preapproved=True, site_visit_scheduled=True, site_visits_done=1,
         calls_attempted=3, calls_answered=3, whatsapp_replies=6, page_views=22, consent=True,
         notes="Wants 3BHK ready to move near ITPL, school nearby, loan sanctioned"),
    dict(lead_id="R-2", city="Pune", locality="Hinjewadi", property_type="Apartment", bhk=2,
         budget_lakh="75L", calls_attempted=4, calls_answered=1, page_views=3, consent=True,
         notes="just checking prices, call after Diwali"),
    dict(lead_id="R-3", city="Delhi NCR", locality="Sector 65 Gurgaon", property_type="Villa", bhk=4,
         budget_lakh="3.5 crore", loan_preapproved=True, site_visit_scheduled=True, calls_attempted=2,
         calls_answered=2, consent=True, notes="villa with garden, gated community"),
    dict(lead_id="R-4", city="Ahmedabad", locality="SG Highway", property_type="Commercial Shop", bhk=0,
         budget_lakh="60L", calls_attempted=5, calls_answered=1, consent=True,
         notes="shop for rental income, main road frontage"),
    dict(lead_id="R-5", city="Chennai", locality="OMR", property_type="Apartment", bhk=3,
         budget_lakh="90 lakh - 1.1 crore", calls_attempted=1, calls_answered=1, page_views=9, consent=True,
         notes="3 bhk ready to move chahiye, near IT corridor"),
    dict(lead_id="R-6", city="Kolkata", locality="New Town", property_type="Apartment", bhk=2,
         budget_lakh="55 lakh", loan_preapproved=True, site_visit_scheduled=True, calls_attempted=2,
         calls_answered=2, whatsapp_replies=4, page_views=12, consent=True,
         notes="first home near metro, visit on Sunday"),
]


def model_dir(name):
    return os.path.join(MODELS, name, "latest")


def metric(srv, name, labels):
    return srv.metric(name, labels) or 0.0


class Bm25Rerank(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ServerProc(BIN, ["--model", model_dir("real_estate")], keys=KEYS).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def rerank(self, body, path="/v1/rerank", headers=RR):
        return self.srv.json("POST", path, body, headers)

    def assert_error(self, body, status, code, field):
        s, _, out = self.rerank(body)
        self.assertEqual(s, status, out)
        self.assertEqual(out["error"]["code"], code, out)
        self.assertEqual(out["error"]["field"], field, out)

    def test_validation(self):
        ok = {"target_intent": "3 bhk", "leads": LEADS}
        self.assert_error({"leads": LEADS}, 422, "missing_field", "target_intent")
        self.assert_error({"target_intent": "  ", "leads": LEADS}, 422, "missing_field", "target_intent")
        self.assert_error({"target_intent": 5, "leads": LEADS}, 422, "field_type_mismatch", "target_intent")
        self.assert_error({"target_intent": "x" * 2001, "leads": LEADS}, 422, "field_too_long", "target_intent")
        s, _, _ = self.rerank({"target_intent": "é" * 2000, "leads": LEADS})  # characters, not bytes
        self.assertEqual(s, 200)
        self.assert_error({"target_intent": "3 bhk"}, 422, "missing_field", "leads")
        self.assert_error({"target_intent": "3 bhk", "leads": {"a": 1}}, 422, "field_type_mismatch", "leads")
        self.assert_error({"target_intent": "3 bhk", "leads": [{}] * 1001}, 413, "batch_too_large", "leads")
        for k, v, code in [("top_k", 0, "field_out_of_range"), ("top_k", -3, "field_out_of_range"),
                           ("top_k", 2.5, "field_type_mismatch"), ("top_k", "3", "field_type_mismatch"),
                           ("weight", 1.5, "field_out_of_range"), ("weight", -0.1, "field_out_of_range"),
                           ("weight", "0.5", "field_type_mismatch")]:
            self.assert_error(dict(ok, **{k: v}), 422, code, k)
        self.assert_error(dict(ok, topk=3), 422, "unknown_field", "topk")
        long_notes = [LEADS[0], dict(LEADS[1], notes="y" * 2001)]
        self.assert_error({"target_intent": "3 bhk", "leads": long_notes}, 422, "field_too_long", "leads[1].notes")
        s, _, out = self.rerank([1, 2])
        self.assertEqual((s, out["error"]["code"]), (422, "not_an_object"))
        s, _, out = self.rerank(ok, headers=SC)
        self.assertEqual(s, 403)
        s, _, out = self.rerank(ok, headers={})
        self.assertEqual(s, 401)

    def test_shape_and_weights(self):
        s, _, scored = self.srv.json("POST", "/v1/score", {"leads": LEADS}, SC)
        self.assertEqual(s, 200)
        intent = {r["lead_id"]: r["intent_score"] for r in scored["results"]}
        s, _, out = self.rerank({"target_intent": "villa with a garden in a gated community", "leads": LEADS,
                                 "top_k": 100, "weight": 0})
        self.assertEqual(s, 200, out)
        self.assertEqual(set(out), {"results", "errors", "encoder", "model", "model_version"})
        self.assertEqual(out["encoder"], "bm25")
        self.assertEqual(out["errors"], [])
        self.assertEqual(out["model_version"], scored["model_version"])
        res = out["results"]
        self.assertEqual(len(res), len(LEADS))
        self.assertEqual([r["rank"] for r in res], list(range(1, len(LEADS) + 1)))
        for r in res:
            self.assertEqual(set(r), {"lead_id", "rank", "similarity", "intent_score", "combined", "score", "grade"})
            # /v1/score may answer from its cache, which stores float32.
            self.assertAlmostEqual(r["intent_score"], intent[r["lead_id"]], places=6)
            self.assertAlmostEqual(r["combined"], r["intent_score"], places=9)
            self.assertTrue(0 <= r["similarity"] <= 1)
            self.assertIn(r["grade"], "ABCD")
        own = {r["lead_id"]: r["intent_score"] for r in res}
        order = sorted(LEADS, key=lambda l: (-own[l["lead_id"]], LEADS.index(l)))
        self.assertEqual([r["lead_id"] for r in res], [l["lead_id"] for l in order])
        sims = {r["lead_id"]: r["similarity"] for r in res}

        s, _, out = self.rerank({"target_intent": "villa with a garden in a gated community", "leads": LEADS,
                                 "top_k": 100, "weight": 1})
        res = out["results"]
        order = sorted(LEADS, key=lambda l: (-sims[l["lead_id"]], LEADS.index(l)))
        self.assertEqual([r["lead_id"] for r in res], [l["lead_id"] for l in order])
        self.assertEqual(res[0]["lead_id"], "R-3")
        for r in res:
            self.assertAlmostEqual(r["combined"], r["similarity"], places=6)

        s, _, out = self.rerank({"target_intent": "villa with a garden", "leads": LEADS, "weight": 0.3})
        for r in out["results"]:
            self.assertAlmostEqual(r["combined"], 0.3 * r["similarity"] + 0.7 * r["intent_score"], places=6)
        combined = [r["combined"] for r in out["results"]]
        self.assertEqual(combined, sorted(combined, reverse=True))

    def test_top_k_default_and_empty(self):
        many = [dict(LEADS[i % len(LEADS)], lead_id="K-%d" % i) for i in range(25)]
        s, _, out = self.rerank({"target_intent": "3 bhk ready to move", "leads": many})
        self.assertEqual(len(out["results"]), 10)
        s, _, out = self.rerank({"target_intent": "3 bhk ready to move", "leads": many, "top_k": 3})
        self.assertEqual([r["rank"] for r in out["results"]], [1, 2, 3])
        s, _, out = self.rerank({"target_intent": "3 bhk", "leads": []})
        self.assertEqual((s, out["results"], out["errors"]), (200, [], []))

    def test_given_intent_score_and_item_errors(self):
        leads = [dict(LEADS[1], intent_score=0.999), dict(LEADS[0], bhk="many"), LEADS[2],
                 dict(LEADS[3], intent_score="high"), dict(LEADS[4], intent_score=1.5), "not a lead"]
        s, _, out = self.rerank({"target_intent": "3 bhk", "leads": leads, "weight": 0, "top_k": 10})
        self.assertEqual(s, 200, out)
        self.assertEqual(out["results"][0]["lead_id"], "R-2")
        self.assertEqual(out["results"][0]["intent_score"], 0.999)
        self.assertEqual(out["results"][0]["score"], 100)
        self.assertEqual([r["lead_id"] for r in out["results"]], ["R-2", "R-3"])
        errs = {e["index"]: e for e in out["errors"]}
        self.assertEqual(sorted(errs), [1, 3, 4, 5])
        self.assertEqual(errs[1]["error"]["field"], "bhk")
        self.assertEqual(errs[1]["lead_id"], "R-1")
        self.assertEqual(errs[3]["error"]["code"], "field_type_mismatch")
        self.assertEqual(errs[4]["error"]["code"], "field_out_of_range")
        self.assertEqual(errs[5]["error"]["code"], "not_an_object")

    def test_ties_keep_request_order(self):
        same = [dict(LEADS[0], lead_id="T-%d" % i, intent_score=0.5) for i in range(5)]
        s, _, out = self.rerank({"target_intent": "3 bhk", "leads": same})
        self.assertEqual([r["lead_id"] for r in out["results"]], ["T-%d" % i for i in range(5)])

    def test_prototype_rerank(self):
        leads = [dict(l, name=NAME, phone=PHONE) for l in LEADS]
        s, _, out = self.rerank({"target_intent": "villa with a garden", "leads": leads, "extra": 1},
                                path="/rerank")
        self.assertEqual(s, 200, out)
        self.assertEqual(len(out["leads"]), len(LEADS))
        sims = [l["similarity"] for l in out["leads"]]
        self.assertEqual(sims, sorted(sims, reverse=True))
        self.assertEqual(out["leads"][0]["lead_id"], "R-3")
        for l in out["leads"]:
            self.assertNotIn("name", l)
            self.assertNotIn("phone", l)
            src = next(x for x in LEADS if x["lead_id"] == l["lead_id"])
            self.assertEqual(l["city"], src["city"])
            self.assertEqual(l["notes"], src["notes"])
        s, _, out = self.rerank({"target_intent": "x", "leads": [LEADS[0], dict(LEADS[1], bhk=99)]}, path="/rerank")
        self.assertEqual((s, out["error"]["field"]), (422, "leads[1].bhk"))

    def test_pii_canaries_never_leave(self):
        leads = [dict(l, name=NAME, phone=PHONE, email=EMAIL,
                      notes=l["notes"] + ", call me on " + PHONE + " or mail " + EMAIL) for l in LEADS]
        leads.append(dict(LEADS[0], lead_id="+91 " + PHONE))  # refused id, never echoed
        bodies = []
        for path in ("/v1/rerank", "/rerank"):
            body = {"target_intent": "ready to move, reach me at " + PHONE, "leads": leads[:-1] if path == "/rerank" else leads}
            status, _, data = self.srv.request("POST", path, body, RR)
            self.assertEqual(status, 200, data)
            bodies.append(data.decode())
        scrubbed = json.loads(bodies[1])["leads"][0]["notes"]
        self.assertIn("[phone]", scrubbed)
        self.assertIn("[email]", scrubbed)
        text = "\n".join(bodies) + self.srv.log()
        for canary in ("98765", "43210", "canary.person", "example.com", "Zebulon"):
            self.assertNotIn(canary, text)

    def test_prototype_rerank_echoes_parsed_values_not_what_was_sent(self):
        # The prototype echoed every field as sent; contact data typed into category fields
        # must come back as the model saw it ("other"), never verbatim.
        canaries = {"locality": "+91 97531 86420", "pipeline_stage": "zq.canary.8842@example.net",
                    "sale_type": "ZQXPK8842L", "possession_preference": "8842 7731 5509",
                    "last_call_outcome": "Zenobia Quarrington"}
        leads = [dict(LEADS[0], **canaries), dict(LEADS[1], budget_lakh="90L")]
        s, _, data = self.srv.request("POST", "/rerank", {"target_intent": "villa", "leads": leads}, RR)
        self.assertEqual(s, 200, data)
        out = {l["lead_id"]: l for l in json.loads(data)["leads"]}
        for field in canaries:
            self.assertEqual(out["R-1"][field], "other", field)
        self.assertEqual(out["R-1"]["city"], LEADS[0]["city"])  # a listed category as sent
        self.assertEqual(out["R-1"]["bhk"], LEADS[0]["bhk"])
        self.assertEqual(out["R-2"]["budget_lakh"], 90)  # the number the model used
        text = data.decode() + self.srv.log()
        for canary in ("97531", "86420", "zq.canary", "ZQXPK", "7731", "Zenobia"):
            self.assertNotIn(canary, text)

    def test_encoded_metric_and_console(self):
        before = metric(self.srv, "leadscore_text_encoded_total", 'encoder="bm25"')
        self.rerank({"target_intent": "3 bhk", "leads": LEADS[:4]})
        self.assertEqual(metric(self.srv, "leadscore_text_encoded_total", 'encoder="bm25"') - before, 5)
        s, h, body = self.srv.request("GET", "/")
        self.assertEqual(s, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn(b"leadscore console", body)
        for f, ctype in (("app.js", "text/javascript"), ("style.css", "text/css")):
            s, h, _ = self.srv.request("GET", "/console/" + f)
            self.assertEqual(s, 200)
            self.assertTrue(h["content-type"].startswith(ctype))
        for bad in ("/console/nope.js", "/console/..%2Fsrc", "/console/.hidden"):
            s, _, _ = self.srv.request("GET", bad)
            self.assertEqual(s, 404, bad)


@unittest.skipUnless(MAKE_MINILM or len(sys.argv) > 3, "no make_synthetic_minilm tool")
class MiniLmRerank(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="leadscore-minilm-")
        r = subprocess.run([MAKE_MINILM, cls.dir], stdout=subprocess.DEVNULL)
        if r.returncode == 77:
            raise unittest.SkipTest("shared model files missing")
        r.check_returncode()
        cls.srv = ServerProc(BIN, ["--model", model_dir("real_estate"), "--text-model", cls.dir], keys=KEYS).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def encoded(self):
        return metric(self.srv, "leadscore_text_encoded_total", 'encoder="minilm"')

    def test_embedding_cache_encodes_only_the_new_intent(self):
        leads = [dict(l, lead_id="M-" + l["lead_id"]) for l in LEADS]
        n0 = self.encoded()
        s, _, first = self.srv.json("POST", "/v1/rerank", {"target_intent": "3 bhk near metro", "leads": leads,
                                                            "weight": 1, "top_k": 100}, RR)
        self.assertEqual(s, 200, first)
        self.assertEqual(first["encoder"], "minilm")
        self.assertEqual(self.encoded() - n0, len(leads) + 1)
        for r in first["results"]:
            self.assertTrue(-1.0001 <= r["similarity"] <= 1.0001)
        s, _, second = self.srv.json("POST", "/v1/rerank", {"target_intent": "villa with garden", "leads": leads,
                                                             "weight": 1, "top_k": 100}, RR)
        self.assertEqual(self.encoded() - n0, len(leads) + 2)
        s, _, again = self.srv.json("POST", "/v1/rerank", {"target_intent": "3 bhk near metro", "leads": leads,
                                                            "weight": 1, "top_k": 100}, RR)
        self.assertEqual(self.encoded() - n0, len(leads) + 2)
        self.assertEqual(again["results"], first["results"])  # cached rows give the same answer

    def test_text_model_that_does_not_load_stops_serve_with_code_2(self):
        """--text-model names MiniLM explicitly, so a missing or truncated model is a startup
        error (exit 2, the loader's code in the message), never a silent BM25 server."""
        trunc = tempfile.mkdtemp(prefix="leadscore-minilm-trunc-")
        self.addCleanup(shutil.rmtree, trunc, True)
        for f in ("config.json", "vocab.txt", "sentence_bert_config.json"):
            shutil.copyfile(os.path.join(self.dir, f), os.path.join(trunc, f))
        with open(os.path.join(self.dir, "model.safetensors"), "rb") as src:
            data = src.read()
        with open(os.path.join(trunc, "model.safetensors"), "wb") as dst:
            dst.write(data[:len(data) // 2])
        env = dict(os.environ, LEADSCORE_API_KEYS=KEYS)
        for model, code in ((os.path.join(trunc, "absent"), "model_dir_incomplete"),
                            (trunc, "safetensors_truncated")):
            with self.subTest(code=code):
                err_path = os.path.join(trunc, "stderr-" + code)
                with open(err_path, "w") as err_file:
                    p = subprocess.Popen([BIN, "serve", "--port", "0", "--no-access-log", "--model",
                                          model_dir("real_estate"), "--data-dir", os.path.join(trunc, "data"),
                                          "--text-model", model],
                                         stdout=subprocess.PIPE, stderr=err_file, text=True, env=env)
                # stdout ends when serve exits; a "listening on" line first means it served anyway.
                for line in p.stdout:
                    if "listening on" in line:
                        p.kill()
                        p.communicate()
                        self.fail("serve started without its text model: " + line)
                p.communicate(timeout=120)
                with open(err_path) as f:
                    err = f.read()
                self.assertEqual(p.returncode, 2, err)
                self.assertIn("leadscore serve: cannot load text model %s: %s:" % (model, code), err)

    def test_large_request_on_background_thread_matches_inline(self):
        many = [dict(LEADS[i % len(LEADS)], lead_id="B-%d" % i, notes=LEADS[i % len(LEADS)]["notes"] + " #%d" % i)
                for i in range(40)]
        s, _, big = self.srv.json("POST", "/v1/rerank", {"target_intent": "ready to move flat", "leads": many,
                                                          "top_k": 1000}, RR)
        self.assertEqual(s, 200, big)
        self.assertEqual(len(big["results"]), 40)
        # Now all cached: answered inline, same numbers.
        s, _, again = self.srv.json("POST", "/v1/rerank", {"target_intent": "ready to move flat", "leads": many,
                                                            "top_k": 1000}, RR)
        self.assertEqual(again["results"], big["results"])


if __name__ == "__main__":
    BIN, MODELS = sys.argv[1], sys.argv[2]
    MAKE_MINILM = sys.argv[3] if len(sys.argv) > 3 else ""
    unittest.main(argv=[sys.argv[0], "-v"])
