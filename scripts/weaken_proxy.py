#!/usr/bin/env python3
"""A reverse proxy that weakens a CloudMind deployment on purpose, so make test can show that `cloudmind probe`
catches each weakening and names the check. It forwards every request to the server unchanged, from the same
loopback source address the client used (the server's per-client limits still see distinct clients), and then:

  strip-headers  removes the security headers from every answer (a gateway or CDN that drops them);
  leak-timing    delays the answer to a login for a name registered through it by 15 ms (a server that answers
                 unknown names without the dummy password hash, so they come back faster), and the answer to a
                 password-reset request for an address registered through it (a server that looks the accounts up
                 and mails them before answering).

usage: weaken_proxy.py MODE LISTEN_PORT UPSTREAM_PORT
"""
import http.client
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json

MODE, LISTEN, UPSTREAM = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
STRIPPED = {
    "strict-transport-security", "content-security-policy", "x-content-type-options", "x-frame-options",
    "referrer-policy", "cross-origin-opener-policy", "cross-origin-resource-policy", "permissions-policy",
    "x-xss-protection",
}
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
registered = set()
registered_emails = set()
lock = threading.Lock()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed
    # ACK would hold some answers for 40 ms, noise the timing check would rightly call a leak.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30,
                                              source_address=(self.client_address[0], 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        name = email = None
        if self.path.startswith("/api/v1/auth/"):
            try:
                fields = json.loads(body)
                name, email = fields.get("username"), fields.get("email")
            except Exception:  # malformed on purpose (the probe sends such bodies): not a request to delay
                pass
            name = name if isinstance(name, str) else None
            email = email if isinstance(email, str) else None
        known = False
        if MODE == "leak-timing" and (name or email):
            with lock:
                if self.path == "/api/v1/auth/register" and answer.status == 201:
                    registered.add(name)
                    registered_emails.add(email)
                known = (self.path == "/api/v1/auth/login" and name in registered) or (
                    self.path == "/api/v1/auth/password/forgot" and email in registered_emails)
            if known:
                time.sleep(0.015)
        # Only the upstream's headers: no Server or Date of the proxy's own.
        self.send_response_only(answer.status)
        for k, v in answer.getheaders():
            if k.lower() in HOP or (MODE == "strip-headers" and k.lower() in STRIPPED):
                continue
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = forward


if MODE not in ("strip-headers", "leak-timing"):
    sys.exit(f"unknown mode {MODE}")
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", LISTEN), Proxy).serve_forever()
