"""Privacy canary (issue 9, docs/PRIVACY.md): leads carrying unique names, phones, e-mails,
PAN- and Aadhaar-like strings in PII fields, notes and unknown fields go through /v1/score
(single, batch), /score and /v1/rerank (when served); then every byte the server wrote (stderr
log, stdout, the --data-dir contents incl. audit.log and outbox files, responses, /metrics) is
searched for the canaries: zero hits.

Usage: python3 privacy_canary_test.py <leadscore binary> <models dir>"""
import os
import subprocess
import sys
import tempfile
import shutil
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverproc import ServerProc  # noqa: E402

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


def serve_help():
    return subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True).stdout


def files_under(d):
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                yield p, f.read().decode("utf-8", errors="replace")


class PrivacyCanary(unittest.TestCase):
    def assert_clean(self, where, text):
        for n in NEEDLES:
            self.assertNotIn(n, text, "canary %r found in %s" % (n, where))

    def run_server(self, model, leads, single_route, extra_posts=()):
        data_dir = tempfile.mkdtemp(prefix="leadscore-canary-")
        args = ["--model", os.path.join(MODELS, model, "latest")]
        if "--data-dir" in serve_help():
            args += ["--data-dir", data_dir]
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
            seen.append(("/metrics", srv.request("GET", "/metrics")))
            self.assertTrue(any(r[0] == 200 for _, r in seen), "nothing was scored: %r" % (seen[:2],))
            srv.stop()
            for where, r in seen:
                self.assert_clean("response of " + where, r[2].decode("utf-8", errors="replace"))
            self.assert_clean("stderr log", srv.log())
            self.assert_clean("stdout", srv.stdout())
            for path, text in files_under(data_dir):
                self.assert_clean(path, text)
        finally:
            srv.cleanup()
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_v1_score_single_batch_and_rerank(self):
        leads = [real_estate_lead(i) for i in range(4)]
        rerank = {"target_intent": "2BHK ready to move in Pune, call %s" % CANARIES["phone"],
                  "leads": leads, "top_k": 3}
        # /v1/rerank is optional here: a 404 before it lands is fine, but its body is scanned too.
        self.run_server("real_estate", leads, "/v1/score", extra_posts=[("/v1/rerank", rerank)])

    def test_original_score_route(self):
        self.run_server("seed", [seed_lead(i) for i in range(3)], "/score")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if len(args) < 2:
        sys.exit("usage: privacy_canary_test.py <leadscore binary> <models dir>")
    BIN, MODELS = args[0], args[1]
    sys.argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a.startswith("-")]
    unittest.main(verbosity=2)
