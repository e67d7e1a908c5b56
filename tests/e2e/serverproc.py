"""Start and stop the real `leadscore serve` binary for end-to-end tests (stdlib only)."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time


class ServerProc:
    """`leadscore serve --port 0 ...` on loopback; stderr (the JSON log) captured to a file."""

    def __init__(self, binary, args=(), env=None, keys="e2e-score-key:score;e2e-admin-key:admin;e2e-all-key:all",
                 cwd=None, preexec_fn=None):
        self.binary = binary
        self.cwd = cwd
        self.preexec_fn = preexec_fn
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.pop("LEADSCORE_API_KEYS", None)
        if keys is not None:
            self.env["LEADSCORE_API_KEYS"] = keys
        if env:
            self.env.update(env)
        self.proc = None
        self.port = None
        self.log_file = tempfile.NamedTemporaryFile(prefix="leadscore-e2e-", suffix=".log", delete=False)
        self.out_file = tempfile.NamedTemporaryFile(prefix="leadscore-e2e-", suffix=".out", delete=False)

    def start(self, timeout=20):
        cmd = [self.binary, "serve", "--port", "0"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=self.out_file, stderr=self.log_file, env=self.env,
                                     cwd=self.cwd, preexec_fn=self.preexec_fn)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.out_file.name) as f:
                m = re.search(r"listening on http://[0-9.]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s: %s" % (self.proc.returncode, self.log()))
            time.sleep(0.02)
        raise RuntimeError("server did not start: " + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.out_file.name, errors="replace") as f:
            return f.read()

    def log_lines(self):
        """The server's JSON log lines so far; a last line still being written (no newline
        yet) is left for the next call."""
        out = []
        for line in self.log().splitlines(keepends=True):
            if line.endswith("\n"):
                out.append(json.loads(line))
        return out

    def cleanup(self):
        self.stop()
        for f in (self.log_file, self.out_file):
            f.close()
            try:
                os.unlink(f.name)
            except OSError:
                pass

    # --- clients

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One request on a fresh connection: (status, headers dict (lower-case), body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            h = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None):
        status, h, data = self.request(method, path, body, headers)
        return status, h, json.loads(data) if data else None

    def metric(self, name, labels=""):
        """Sum of the samples of `name` on /metrics whose labels contain `labels` (e.g.
        'store="cache"'; "" for all of them); None when there is none."""
        _, _, body = self.request("GET", "/metrics")
        total = None
        for line in body.decode().splitlines():
            head, _, value = line.rpartition(" ")
            if (head == name and not labels) or (head.startswith(name + "{") and labels in head):
                total = (total or 0.0) + float(value)
        return total

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def refuses_connections(self):
        """True when a new connection is refused: the server closed its listening socket, which
        a drain (SIGTERM) does right after it starts draining. A connect the kernel had queued
        on that socket when it closed is reset rather than refused."""
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except (ConnectionRefusedError, ConnectionResetError):
            return True
        except socket.timeout:
            return False
        s.close()
        return False


def read_responses(sock, count, timeout=10):
    """Reads `count` HTTP/1.1 responses (Content-Length framed) from a raw socket."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    while len(out) < count:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed after %d responses" % len(out))
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed mid-body")
            rest += chunk
        out.append((status, headers, rest[:n]))
        buf = rest[n:]
    return out


def wait_until(predicate, seconds=20, step=0.05):
    """Polls `predicate` until it returns something truthy, which is returned; after `seconds`
    returns its last value. Instead of a fixed sleep, which a loaded CI machine can outlast."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(step)
    return predicate()


def wait_closed(sock, timeout):
    """True when the peer closes the connection (EOF or reset) within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
