#!/usr/bin/env python3
"""Peak memory of the local server under concurrent logins: N users (registered here) log in at once with the
right password, several rounds; prints the server's RSS before and its peak (VmHWM) after. Hashing runs on a
bounded pool (one thread per core, a short queue, then 503), so the peak is the base plus one argon2 block per
hashing thread, whatever N is. (One user's concurrent attempts are capped by the lockout's in-flight slots.)

usage: concurrent_logins.py URL SERVER_PID PASSWORD [N] [ROUNDS]
"""

import http.client
import json
import sys
import threading
import urllib.parse
from collections import Counter

url, pid, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
target = urllib.parse.urlparse(url)


def status_kib(field):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


statuses = Counter()
lock = threading.Lock()


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status


idle = status_kib("VmRSS")
users = [f"rss{i}" for i in range(n)]
setup = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
for user in users:
    post(setup, "/api/v1/auth/register", {"username": user, "email": f"{user}@example.com", "password": password})


def login(barrier, user):
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    barrier.wait()
    status = post(conn, "/api/v1/auth/login", {"username": user, "password": password})
    with lock:
        statuses[status] += 1


before = status_kib("VmRSS")
for _ in range(rounds):
    barrier = threading.Barrier(n)
    threads = [threading.Thread(target=login, args=(barrier, user)) for user in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
print(f"{n} concurrent logins x {rounds}: statuses {dict(statuses)}; server RSS idle {idle / 1024:.1f} MiB, "
      f"after {n} registrations {before / 1024:.1f} MiB, "
      f"peak {status_kib('VmHWM') / 1024:.1f} MiB, after {status_kib('VmRSS') / 1024:.1f} MiB")
