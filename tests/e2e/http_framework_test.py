"""End-to-end tests of the HTTP framework against the real `leadscore serve` binary:
errors and statuses, auth scopes, limits, timeouts, keep-alive and pipelining, graceful
shutdown, request ids, metrics, docs, and that logs never carry PII or API keys.

Usage: python3 http_framework_test.py <path-to-leadscore> (CTest passes it)."""
import json
import warnings
import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverproc import ServerProc, read_responses, wait_closed, wait_until  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)
BIN = os.environ.get("LEADSCORE_BIN", "")
SCORE = {"Authorization": "Bearer e2e-score-key"}
ADMIN = {"X-API-Key": "e2e-admin-key"}


def assert_error(tc, status, body, want_status, want_code, field=None):
    tc.assertEqual(status, want_status, body)
    tc.assertIsInstance(body, dict)
    tc.assertEqual(set(body["error"].keys()), {"code", "message", "field"})
    tc.assertEqual(body["error"]["code"], want_code)
    tc.assertEqual(body["error"]["field"], field)


class Framework(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ServerProc(BIN, ["--max-body-bytes", "4096", "--threads", "2"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_healthz(self):
        status, h, body = self.srv.json("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"status": "ok"})
        self.assertTrue(h["x-request-id"])
        self.assertEqual(h["content-type"], "application/json")

    def test_readyz_not_ready_without_model(self):
        status, _, body = self.srv.json("GET", "/readyz")
        assert_error(self, status, body, 503, "not_ready")
        self.assertEqual(body["status"], "not_ready")
        self.assertEqual(body["checks"]["model"]["status"], "not_ready")

    def test_request_id_echoed_or_generated(self):
        _, h, _ = self.srv.request("GET", "/healthz", headers={"X-Request-Id": "abc-123.x"})
        self.assertEqual(h["x-request-id"], "abc-123.x")
        # Ids that are not plain or could carry a phone number are replaced, not echoed.
        for bad in ["has space", "9876543210", "a" * 65, "x@y.z"]:
            _, h, _ = self.srv.request("GET", "/healthz", headers={"X-Request-Id": bad})
            self.assertNotEqual(h["x-request-id"], bad)
            self.assertTrue(h["x-request-id"])
        _, h1, _ = self.srv.request("GET", "/healthz")
        _, h2, _ = self.srv.request("GET", "/healthz")
        self.assertNotEqual(h1["x-request-id"], h2["x-request-id"])

    def test_not_found(self):
        status, _, body = self.srv.json("GET", "/no/such/thing")
        assert_error(self, status, body, 404, "not_found")

    def test_method_not_allowed_has_allow(self):
        status, h, body = self.srv.json("DELETE", "/healthz")
        assert_error(self, status, body, 405, "method_not_allowed")
        self.assertEqual(h["allow"], "GET")
        status, h, body = self.srv.json("GET", "/v1/model/reload")
        assert_error(self, status, body, 405, "method_not_allowed")
        self.assertEqual(h["allow"], "POST")

    def test_unauthorized(self):
        status, h, body = self.srv.json("GET", "/v1/model")
        assert_error(self, status, body, 401, "unauthorized")
        self.assertEqual(h["www-authenticate"], "Bearer")
        status, _, body = self.srv.json("GET", "/v1/model", headers={"Authorization": "Bearer nope"})
        assert_error(self, status, body, 401, "unauthorized")
        status, _, body = self.srv.json("GET", "/v1/model", headers={"X-API-Key": "e2e-score-key-"})
        assert_error(self, status, body, 401, "unauthorized")

    def test_scopes(self):
        # A score-only key may not use admin routes.
        status, _, body = self.srv.json("POST", "/v1/model/reload", headers=SCORE)
        assert_error(self, status, body, 403, "forbidden")
        # Admin and all keys pass authorization (and then find no model configured).
        for h in (ADMIN, {"Authorization": "bearer e2e-all-key"}):
            status, _, body = self.srv.json("POST", "/v1/model/reload", headers=h)
            assert_error(self, status, body, 503, "not_ready")
        # Any valid key may read the model; here none is loaded.
        status, _, body = self.srv.json("GET", "/v1/model", headers=SCORE)
        assert_error(self, status, body, 503, "not_ready")

    def test_model_routes_answer_503_without_model(self):
        # Every route that needs a model says so (503 not_ready), none looks absent (404); the
        # scopes are those of the wired routes (`lacking`: a key without the route's scope).
        lead = {"lead_id": "L-1", "city": "Pune"}
        rerank = {"target_intent": "x", "leads": [lead]}
        for method, path, body, lacking in [("POST", "/v1/score", lead, ADMIN), ("POST", "/score", lead, ADMIN),
                                            ("POST", "/v1/score", {"leads": [lead]}, ADMIN),
                                            ("POST", "/v1/rerank", rerank, SCORE), ("POST", "/rerank", rerank, SCORE),
                                            ("POST", "/v1/erase", {"lead_id": "L-1"}, SCORE),
                                            ("GET", "/v1/leads/L-1/record", None, SCORE)]:
            status, _, got = self.srv.json(method, path, body=body, headers={"Authorization": "Bearer e2e-all-key"})
            assert_error(self, status, got, 503, "not_ready")
            status, _, got = self.srv.json(method, path, body=body)
            assert_error(self, status, got, 401, "unauthorized")
            status, _, got = self.srv.json(method, path, body=body, headers=lacking)
            assert_error(self, status, got, 403, "forbidden")

    def test_unsupported_media_type(self):
        status, _, body = self.srv.json("POST", "/v1/model/reload", body="{}",
                                        headers={**ADMIN, "Content-Type": "text/plain"})
        assert_error(self, status, body, 415, "unsupported_media_type")
        status, _, body = self.srv.json("POST", "/v1/model/reload", body="{}", headers=ADMIN)
        assert_error(self, status, body, 415, "unsupported_media_type")

    def test_invalid_json(self):
        status, _, body = self.srv.json("POST", "/v1/model/reload", body="{not json",
                                        headers={**ADMIN, "Content-Type": "application/json"})
        assert_error(self, status, body, 400, "invalid_json")

    def test_schema_violation_names_field(self):
        status, _, body = self.srv.json("POST", "/v1/model/reload", body={"path": "/etc"},
                                        headers={**ADMIN, "Content-Type": "application/json; charset=utf-8"})
        assert_error(self, status, body, 422, "unknown_field", field="path")

    def test_payload_too_large(self):
        big = "x" * 5000
        status, _, body = self.srv.json("POST", "/v1/model/reload", body=big,
                                        headers={**ADMIN, "Content-Type": "application/json"})
        assert_error(self, status, body, 413, "payload_too_large")
        # Chunked: the limit is enforced while reading.
        s = self.srv.connect()
        chunk = b"y" * 3000
        req = (b"POST /v1/model/reload HTTP/1.1\r\nHost: x\r\nX-API-Key: e2e-admin-key\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(2):
            req += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        req += b"0\r\n\r\n"
        s.sendall(req)
        (status, h, data), = read_responses(s, 1)
        assert_error(self, status, json.loads(data), 413, "payload_too_large")
        self.assertEqual(h.get("connection"), "close")
        s.close()
        # Over the limit on a keep-alive connection that already served a request.
        s = self.srv.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        read_responses(s, 1)
        s.sendall(b"POST /v1/model/reload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 5000\r\n\r\n" + b"[" * 5000)
        (status, _, data), = read_responses(s, 1)
        assert_error(self, status, json.loads(data), 413, "payload_too_large")
        s.close()

    def test_headers_too_large(self):
        status, _, body = self.srv.json("GET", "/healthz", headers={"X-Big": "z" * 20000})
        assert_error(self, status, body, 431, "headers_too_large")

    def test_headers_too_large_is_json_and_closes(self):
        s = self.srv.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"z" * 20000 + b"\r\n\r\n")
        (status, h, data), = read_responses(s, 1)
        assert_error(self, status, json.loads(data), 431, "headers_too_large")
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h.get("connection"), "close")
        s.close()

    def test_payload_too_large_in_head_keeps_route_and_request_id(self):
        # Beast refuses the Content-Length while parsing the head, after the last field: the 413
        # is still the route's (metrics) and echoes the client's request id.
        for path, route in [("/v1/erase", "/v1/erase"), ("/v1/leads/L-7/record", "/v1/leads/{id}/record")]:
            method = "POST" if path == "/v1/erase" else "GET"
            s = self.srv.connect()
            s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-body-7\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                      % (method.encode(), path.encode()))
            (status, h, data), = read_responses(s, 1)
            assert_error(self, status, json.loads(data), 413, "payload_too_large")
            self.assertEqual(h["x-request-id"], "big-body-7")
            self.assertEqual(h.get("connection"), "close")
            self.assertTrue(wait_closed(s, 5))
            s.close()
            labels = 'route="%s",method="%s",status="413"' % (route, method)
            self.assertTrue(wait_until(lambda: self.srv.metric("leadscore_http_requests_total", labels)), labels)
        self.assertIsNone(self.srv.metric("leadscore_http_requests_total", 'route="unmatched",method="POST",status="413"'))

    def test_method_not_allowed_is_counted_under_its_route(self):
        status, _, body = self.srv.json("DELETE", "/v1/model")
        assert_error(self, status, body, 405, "method_not_allowed")
        labels = 'route="/v1/model",method="DELETE",status="405"'
        self.assertTrue(wait_until(lambda: self.srv.metric("leadscore_http_requests_total", labels)), labels)
        self.assertIsNone(self.srv.metric("leadscore_http_requests_total", 'route="unmatched",method="DELETE"'))

    def test_malformed_chunked_body_answers_400_and_closes(self):
        s = self.srv.connect()
        s.sendall(b"POST /v1/model/reload HTTP/1.1\r\nHost: x\r\nX-API-Key: e2e-admin-key\r\n"
                  b"X-Request-Id: bad-chunk-1\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
        (status, h, data), = read_responses(s, 1)
        assert_error(self, status, json.loads(data), 400, "bad_request")
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["x-request-id"], "bad-chunk-1")
        self.assertEqual(h.get("connection"), "close")
        self.assertTrue(wait_closed(s, 5))
        s.close()
        labels = 'route="/v1/model/reload",method="POST",status="400"'
        self.assertTrue(wait_until(lambda: self.srv.metric("leadscore_http_requests_total", labels)), labels)

    def test_malformed_request(self):
        for garbage in [b"THIS IS NOT HTTP\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET /healthz HTTP/1.1\r\nno colon\r\n\r\n"]:
            s = self.srv.connect()
            s.sendall(garbage)
            (status, h, data), = read_responses(s, 1)
            assert_error(self, status, json.loads(data), 400, "bad_request")
            self.assertEqual(h["content-type"], "application/json")
            self.assertEqual(h.get("connection"), "close")
            self.assertTrue(wait_closed(s, 5), garbage)
            s.close()

    def test_keep_alive_and_pipelining(self):
        s = self.srv.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n")
        (st, h, _), = read_responses(s, 1)
        self.assertEqual((st, h["x-request-id"]), (200, "one"))
        # Same connection, then three pipelined requests in one write: answered in order.
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n"
                  b"GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: three\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: four\r\n\r\n")
        got = read_responses(s, 3)
        self.assertEqual([(r[0], r[1]["x-request-id"]) for r in got],
                         [(200, "two"), (404, "three"), (200, "four")])
        s.close()

    def test_metrics(self):
        self.srv.request("GET", "/healthz")
        self.srv.request("GET", "/nope")
        status, h, data = self.srv.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/plain; version=0.0.4"))
        text = data.decode()
        self.assertIn('leadscore_http_requests_total{route="/healthz",method="GET",status="200"}', text)
        self.assertIn('leadscore_http_requests_total{route="unmatched",method="GET",status="404"}', text)
        self.assertIn('leadscore_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}', text)
        self.assertIn("# TYPE leadscore_http_request_duration_seconds histogram", text)
        self.assertIn("leadscore_http_requests_in_flight", text)

    def test_openapi_and_docs(self):
        status, h, spec = self.srv.json("GET", "/openapi.json")
        self.assertEqual(status, 200)
        self.assertEqual(spec["openapi"], "3.1.0")
        self.assertIn("/v1/score", spec["paths"])
        status, h, data = self.srv.request("GET", "/docs")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn(b'url: "/openapi.json"', data)
        self.assertNotIn(b"https://", data)  # no CDN
        for f, ctype in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                         ("swagger-ui-standalone-preset.js", "text/javascript")]:
            status, h, data = self.srv.request("GET", "/docs/" + f)
            self.assertEqual(status, 200, f)
            self.assertTrue(h["content-type"].startswith(ctype))
            self.assertGreater(len(data), 1000)
        for bad in ["/docs/..%2Fpackage.json", "/docs/.package.json", "/docs/nope.js", "/docs/../../etc/passwd"]:
            status, _, _ = self.srv.request("GET", bad)
            self.assertEqual(status, 404, bad)


def hold_inflight_slot(srv, path="/v1/model"):
    """Opens a request whose head the server has read (so it is in flight) and whose body is still
    to come; returns the socket. Send b"{}" on it to finish the request."""
    a = srv.connect()
    a.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nX-API-Key: e2e-admin-key\r\n"
               "Content-Type: application/json\r\nContent-Length: 2\r\n"
               "Expect: 100-continue\r\n\r\n" % path).encode())
    # No probe can ask whether the server has read that head yet: with one slot, a probe would
    # take it first (and a head read meanwhile would be the one refused). A fixed sleep is a
    # guess a loaded machine can outlast; the interim 100 Continue is the server's own word
    # that it read the head, which is when it takes the slot.
    (st, _, _), = read_responses(a, 1)
    assert st == 100, st
    return a


class Limits(unittest.TestCase):
    def test_inflight_limit_answers_429(self):
        srv = ServerProc(BIN, ["--max-inflight", "1"]).start()
        try:
            # A request whose head arrived is in flight until answered.
            a = hold_inflight_slot(srv)
            status, h, body = srv.json("GET", "/v1/model", headers=SCORE)
            assert_error(self, status, body, 429, "overloaded")
            self.assertEqual(h["retry-after"], "1")
            a.sendall(b"{}")
            (st, _, _), = read_responses(a, 1)
            self.assertEqual(st, 503)  # no model: the held request's own answer
            # The slot frees once the server has finished writing that answer, which can be a
            # moment after the client read it: poll rather than expect it at once.
            status = wait_until(lambda: (lambda c: c if c != 429 else None)(
                srv.request("GET", "/v1/model", headers=SCORE)[0]))
            self.assertEqual(status, 503)
            a.close()
        finally:
            srv.cleanup()

    def test_probes_answer_while_inflight_limit_is_hit(self):
        # A liveness probe must not fail exactly when the server is busy.
        srv = ServerProc(BIN, ["--max-inflight", "1"]).start()
        try:
            a = hold_inflight_slot(srv)
            status, _, body = srv.json("GET", "/healthz")
            self.assertEqual((status, body), (200, {"status": "ok"}))
            # Without a model /readyz answers its own 503 not_ready, not 429 overloaded.
            status, _, body = srv.json("GET", "/readyz")
            assert_error(self, status, body, 503, "not_ready")
            self.assertEqual(body["status"], "not_ready")
            status, _, data = srv.request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertIn(b"leadscore_http_requests_in_flight", data)
            # Everything else is still refused while the slot is held.
            for method, path in [("POST", "/v1/score"), ("GET", "/v1/model"), ("POST", "/v1/rerank"),
                                 ("GET", "/openapi.json")]:
                status, _, body = srv.json(method, path, body={} if method == "POST" else None,
                                           headers=SCORE)
                assert_error(self, status, body, 429, "overloaded")
            a.sendall(b"{}")
            (st, _, _), = read_responses(a, 1)
            self.assertEqual(st, 503)
            a.close()
        finally:
            srv.cleanup()

    def test_slow_head_is_cut_off(self):
        srv = ServerProc(BIN, ["--header-timeout-ms", "300", "--body-timeout-ms", "300"]).start()
        try:
            s = srv.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
            t0 = time.time()
            self.assertTrue(wait_closed(s, 5))
            self.assertLess(time.time() - t0, 4)
            # Dribbling header bytes does not extend the deadline.
            s = srv.connect()
            t0 = time.time()
            closed = False
            for _ in range(40):
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
                if wait_closed(s, 0.001):
                    closed = True
                    break
            self.assertTrue(closed)
            self.assertLess(time.time() - t0, 3)
            # Half-sent body: cut off after the body idle timeout.
            s = srv.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            t0 = time.time()
            self.assertTrue(wait_closed(s, 5))
            self.assertLess(time.time() - t0, 4)
            # The server still serves.
            self.assertEqual(srv.request("GET", "/healthz")[0], 200)
            # Beast's stream closes the socket when its timer fires and only then runs the read's
            # handler, which counts the timeout: the client can see the close first, so poll.
            def both_counted():
                _, _, data = srv.request("GET", "/metrics")
                return (b'leadscore_http_timeouts_total{phase="head"}' in data and
                        b'leadscore_http_timeouts_total{phase="body"}' in data)
            self.assertTrue(wait_until(both_counted, seconds=10))
        finally:
            srv.cleanup()

    def test_idle_keepalive_closed(self):
        srv = ServerProc(BIN, ["--idle-timeout-ms", "300"]).start()
        try:
            s = srv.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            read_responses(s, 1)
            self.assertTrue(wait_closed(s, 5))
        finally:
            srv.cleanup()


class Lifecycle(unittest.TestCase):
    def test_sigterm_finishes_inflight_then_exits_0(self):
        srv = ServerProc(BIN).start()
        try:
            idle = srv.connect()
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            read_responses(idle, 1)
            busy = srv.connect()
            busy.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: inflight\r\n"
                         b"Content-Length: 6\r\n\r\nabc")
            # SIGTERM only once the server holds that request (its head read): 2 = it + /metrics.
            self.assertTrue(wait_until(lambda: (srv.metric("leadscore_http_requests_in_flight") or 0) >= 2),
                            "the request never got in flight")
            srv.proc.send_signal(signal.SIGTERM)
            # The idle keep-alive connection is closed, new connections are refused...
            self.assertTrue(wait_closed(idle, 5))
            time.sleep(0.2)
            with self.assertRaises(OSError):
                c = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if not c.recv(1):
                    raise ConnectionResetError
            self.assertIsNone(srv.proc.poll())
            # ...and the request in flight is answered (with Connection: close).
            busy.sendall(b"def")
            (st, h, _), = read_responses(busy, 1)
            self.assertEqual((st, h["x-request-id"], h.get("connection")), (200, "inflight", "close"))
            self.assertEqual(srv.proc.wait(10), 0)
            self.assertIn('"event":"shutdown","clean":true', srv.log())
        finally:
            srv.cleanup()

    def test_sigint_exits_0(self):
        srv = ServerProc(BIN).start()
        try:
            self.assertEqual(srv.stop(signal.SIGINT), 0)
        finally:
            srv.cleanup()

    def test_refuses_to_start_without_keys(self):
        srv = ServerProc(BIN, keys=None)
        with self.assertRaises(RuntimeError) as cm:
            srv.start()
        self.assertEqual(srv.proc.returncode, 2)
        self.assertIn("no API keys", str(cm.exception))
        srv.cleanup()

    def test_nonsensical_limit_flags_fail_at_startup(self):
        # Each would otherwise start a server that refuses every request (--max-inflight 0),
        # drops every connection (a timeout <= 0) or fits no batch (--max-batch 0).
        for flag, value in [("--max-inflight", "0"), ("--header-timeout-ms", "-5"),
                            ("--max-batch", "0"), ("--max-body-bytes", "0"),
                            ("--body-timeout-ms", "0"), ("--idle-timeout-ms", "-1"),
                            ("--drain-timeout-ms", "0"), ("--threads", "-1"), ("--threads", "5000"),
                            ("--cache-entries", "0"), ("--redis-timeout-ms", "-1"),
                            ("--crm-concurrency", "0"), ("--crm-max-attempts", "0"),
                            ("--max-inflight", "lots")]:
            srv = ServerProc(BIN, ["--no-auth", flag, value], keys=None)
            try:
                with self.assertRaises(RuntimeError, msg=flag + " " + value) as cm:
                    srv.start()
                self.assertEqual(srv.proc.returncode, 2, flag)
                self.assertIn("%s: Value %s not in range" % (flag, value), str(cm.exception))
            finally:
                srv.cleanup()

    def test_bad_keys_spec_is_rejected_without_echoing_it(self):
        srv = ServerProc(BIN, keys="secret-key-zq9:superuser")
        with self.assertRaises(RuntimeError) as cm:
            srv.start()
        self.assertEqual(srv.proc.returncode, 2)
        self.assertIn("unknown scope", str(cm.exception))
        self.assertNotIn("secret-key-zq9", str(cm.exception))
        srv.cleanup()

    def test_no_auth_warns_and_opens_routes(self):
        srv = ServerProc(BIN, ["--no-auth"], keys=None).start()
        try:
            self.assertIn('"event":"auth_disabled"', srv.log())
            status, _, body = srv.json("POST", "/v1/model/reload")
            assert_error(self, status, body, 503, "not_ready")
            self.assertIn("/docs", srv.stdout())
        finally:
            srv.cleanup()

    def test_keys_file(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
            f.write("# comment\n\nfile-admin-key:admin\nfile-score-key:score,rerank\n")
        srv = ServerProc(BIN, ["--api-keys-file", f.name], keys=None).start()
        try:
            status, _, body = srv.json("POST", "/v1/model/reload", headers={"X-API-Key": "file-score-key"})
            assert_error(self, status, body, 403, "forbidden")
            status, _, body = srv.json("POST", "/v1/model/reload", headers={"X-API-Key": "file-admin-key"})
            assert_error(self, status, body, 503, "not_ready")
        finally:
            srv.cleanup()
            os.unlink(f.name)


class Privacy(unittest.TestCase):
    def test_logs_carry_no_pii_and_no_keys(self):
        canaries = {"phone": "+91 98765 43210", "phone2": "9876543210", "email": "canary.zx81@example.in",
                    "name": "Zubin Canarywala"}
        key = "canary-api-key-7f3e1d"
        srv = ServerProc(BIN, keys=key + ":score;canary-admin-key-91ab:admin").start()
        try:
            bodies = []
            for path in ["/v1/leads/9876543210/record", "/v1/leads/canary.zx81@example.in/record",
                         "/nope/Zubin%20Canarywala?phone=%2B919876543210&email=canary.zx81@example.in"]:
                for h in [{"X-API-Key": key}, {"X-API-Key": "canary-admin-key-91ab"}, {}]:
                    bodies.append(srv.request("GET", path, headers=h)[2])
            body = json.dumps(canaries)
            for h in [{"Authorization": "Bearer " + key}, {"X-API-Key": "canary-admin-key-91ab"},
                      {"X-API-Key": "wrong-" + key}]:
                bodies.append(srv.request("POST", "/v1/model/reload", body=body,
                                          headers={**h, "Content-Type": "application/json",
                                                   "X-Request-Id": canaries["phone2"]})[2])
                bodies.append(srv.request("POST", "/v1/model/reload", body=body,
                                          headers={**h, "Content-Type": "text/plain",
                                                   "X-Customer": canaries["name"]})[2])
            srv.stop()
            log = srv.log()
            self.assertIn('"event":"request"', log)
            self.assertIn('"event":"audit"', log)
            for line in log.splitlines():
                json.loads(line)  # every line is JSON
            haystacks = [log] + [b.decode(errors="replace") for b in bodies]
            for hay in haystacks:
                for needle in list(canaries.values()) + [key, "canary-admin-key-91ab", "98765", "canary.zx81",
                                                         "Canarywala"]:
                    self.assertNotIn(needle, hay)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        BIN = sys.argv.pop(1)
    if not BIN:
        sys.exit("usage: http_framework_test.py <leadscore binary>")
    unittest.main(verbosity=2)
