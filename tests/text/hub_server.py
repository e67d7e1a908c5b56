#!/usr/bin/env python3
"""Test-only Hugging Face hub stand-in: serves ROOT over HTTP with Range support.

Usage: hub_server.py ROOT LOG [--drop-after N]
Prints the listening port on stdout. Every GET is logged to LOG as "<path> <Range header or ->".
With --drop-after N, the first response for a path ending in model.safetensors sends only N bytes
of its body and then closes the connection (an interrupted download).
"""
import http.server
import os
import re
import sys
import threading

ROOT, LOG = sys.argv[1], sys.argv[2]
DROP = int(sys.argv[sys.argv.index("--drop-after") + 1]) if "--drop-after" in sys.argv else None
dropped = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        with lock, open(LOG, "a") as f:
            f.write(f"{self.path} {rng or '-'}\n")
        path = os.path.normpath(os.path.join(ROOT, self.path.lstrip("/")))
        if not path.startswith(os.path.abspath(ROOT)) or not os.path.isfile(path):
            body = b"not found"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = open(path, "rb").read()
        start = 0
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            start = int(m.group(1)) if m else 0
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if DROP is not None and self.path.endswith("model.safetensors") and self.path not in dropped:
            dropped.add(self.path)
            self.wfile.write(body[:DROP])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
