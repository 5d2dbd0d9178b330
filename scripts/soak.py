#!/usr/bin/env python3
"""Mixed traffic against a running CloudMind server for a bounded time (scripts/soak.sh starts it).

Workers register users, log in, read and change profiles, change passwords, log out, and send the requests an
attacker sends (wrong passwords, bad and revoked tokens, malicious input, a body too large); one admin reads the
limiter statistics and the audit trail. The server's RSS is sampled every second. The run passes when no request
got a 5xx, every request got an answer, and the RSS at the end is within 10 % (or 8 MiB) of the RSS after warm-up
(the first fifth of the run). Prints a summary and writes it as JSON.

usage: soak.py URL SERVER_PID SECONDS REPORT.json
"""

import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter

URL, PID, SECONDS, REPORT = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
HOST = urllib.parse.urlparse(URL)
ADMIN = ("root", "Admin-Pass-For-Tests-7!")
PASSWORD = "Correct-Horse-42-Battery"
WORKERS = 6

lock = threading.Lock()
statuses: Counter = Counter()
by_route: Counter = Counter()
failures: list = []
stop_at = time.monotonic() + SECONDS


class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=30)

    def call(self, route, method, path, body=None, token=None, raw=None):
        headers = {}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        elif raw is not None:
            headers["content-type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.conn.close()
                break
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=30)
                if attempt == 1 or not isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError)):
                    with lock:
                        failures.append(f"{route}: no answer ({type(e).__name__}: {e})")
                        statuses["no answer"] += 1
                    return None, None
        with lock:
            statuses[response.status] += 1
            by_route[(route, response.status)] += 1
            if response.status >= 500:
                failures.append(f"{route}: {response.status} {payload[:200]!r}")
        try:
            return response.status, json.loads(payload) if payload else None
        except ValueError:
            return response.status, None


def worker(n):
    c = Client()
    rng = random.Random(n)
    i = 0
    while time.monotonic() < stop_at:
        i += 1
        name = f"soak{n}x{i}"
        status, _ = c.call("register", "POST", "/api/v1/auth/register",
                           {"username": name, "email": f"{name}@example.com", "password": PASSWORD})
        status, body = c.call("login", "POST", "/api/v1/auth/login", {"username": name, "password": PASSWORD})
        token = body.get("access_token") if status == 200 and body else None
        for _ in range(rng.randint(5, 15)):
            if time.monotonic() >= stop_at:
                break
            pick = rng.random()
            if pick < 0.45:
                c.call("me", "GET", "/api/v1/me", token=token)
            elif pick < 0.60:
                c.call("update_me", "PATCH", "/api/v1/me", {"display_name": f"Soak {rng.randint(1, 10**6)}"}, token)
            elif pick < 0.70:
                c.call("health", "GET", "/health")
            elif pick < 0.75:
                c.call("wrong_password", "POST", "/api/v1/auth/login", {"username": name, "password": "Wrong-1!xxxxx"})
            elif pick < 0.80:
                c.call("bad_token", "GET", "/api/v1/me", token="eyJhbGciOiJub25lIn0.e30.")
            elif pick < 0.85:
                c.call("malicious", "GET", "/health?q=%27%20OR%201%3D1%20--")
            elif pick < 0.88:
                c.call("too_large", "POST", "/api/v1/auth/login", raw=b"{" + b" " * 70_000 + b"}")
            elif pick < 0.91:
                c.call("malformed", "POST", "/api/v1/auth/login", raw=b'{"username": ')
            else:
                c.call("me", "GET", "/api/v1/me", token=token)
        if rng.random() < 0.2:
            new = PASSWORD + "x"
            c.call("change_password", "PUT", "/api/v1/me/password",
                   {"current_password": PASSWORD, "new_password": new}, token)
        c.call("logout", "POST", "/api/v1/auth/logout", token=token)
        c.call("revoked_token", "GET", "/api/v1/me", token=token)


def admin():
    c = Client()
    _, body = c.call("admin_login", "POST", "/api/v1/auth/login", {"username": ADMIN[0], "password": ADMIN[1]})
    token = body["access_token"]
    while time.monotonic() < stop_at:
        c.call("admin_stats", "GET", "/api/v1/admin/rate-limit-stats", token=token)
        c.call("admin_events", "GET", "/api/v1/admin/security-events?limit=50", token=token)
        time.sleep(0.5)


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


samples = []
threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)] + [threading.Thread(target=admin)]
started = time.monotonic()
for t in threads:
    t.start()
while time.monotonic() < stop_at:
    samples.append((round(time.monotonic() - started, 1), rss_kib()))
    time.sleep(1)
for t in threads:
    t.join()
samples.append((round(time.monotonic() - started, 1), rss_kib()))

warm = [kib for at, kib in samples if at >= SECONDS / 5]
rss_warm, rss_end, rss_max = warm[0], samples[-1][1], max(k for _, k in samples)
total = sum(statuses.values())
fivexx = sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500)
unanswered = statuses.get("no answer", 0)
allowed = max(rss_warm * 0.10, 8 * 1024)
flat = rss_end <= rss_warm + allowed
report = {
    "seconds": SECONDS,
    "requests": total,
    "requests_per_second": round(total / (time.monotonic() - started), 1),
    "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
    "by_route": {f"{r} {s}": n for (r, s), n in sorted(by_route.items())},
    "server_errors": fivexx,
    "unanswered": unanswered,
    "rss_kib": {"start": samples[0][1], "after_warm_up": rss_warm, "end": rss_end, "max": rss_max},
    "rss_samples": samples,
    "failures": failures[:20],
    "passed": fivexx == 0 and unanswered == 0 and flat,
}
with open(REPORT, "w") as f:
    json.dump(report, f, indent=1)
print(f"soak: {total} requests in {SECONDS:.0f} s ({report['requests_per_second']}/s), statuses {report['statuses']}")
print(f"soak: 5xx {fivexx}, unanswered {unanswered}, RSS KiB start {samples[0][1]} after warm-up {rss_warm} "
      f"end {rss_end} max {rss_max} ({'flat' if flat else 'GREW'})")
for line in failures[:20]:
    print(f"soak: {line}")
sys.exit(0 if report["passed"] else 1)
