#!/usr/bin/env python3
"""The credential-stuffing mix at the size this machine allows (`make bench-scale`, SCALING.md): login attempts
with wrong passwords for names drawn from a large pool, from many client addresses (127.x.y.z: the local server keys
limits on the socket address), for a fixed time; then where the work landed: Redis commands and keys per cluster
node and per slot, DynamoDB writes per partition of the audit trail and of the lockouts, and the extrapolation to
SCALING.md's attack (100,000 attempts/s from 1,000,000 addresses against 10,000,000 accounts).

usage: scale.py URL SECONDS CONCURRENCY ADDRESSES NAMES REDIS_PORTS(comma) DYNAMODB_ENDPOINT SECURITY_TABLE REPORT
"""

import binascii
import collections
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import urllib.parse

(url, seconds, concurrency, addresses, names, redis_ports, dynamo, table, report) = sys.argv[1:10]
seconds, concurrency, addresses, names = float(seconds), int(concurrency), int(addresses), int(names)
ports = [int(p) for p in redis_ports.split(",")]
target = urllib.parse.urlparse(url)
statuses = collections.Counter()
lock = threading.Lock()
deadline = time.time() + seconds


def address(i):
    return f"127.{1 + (i >> 16) % 254}.{(i >> 8) & 255}.{(i & 255) or 1}"


def attacker(seed):
    rng = random.Random(seed)
    while time.time() < deadline:
        source = address(rng.randrange(addresses))
        body = json.dumps({"username": f"victim{rng.randrange(names)}", "password": "Guess-Pass-1!"})
        try:
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30, source_address=(source, 0))
            conn.request("POST", "/api/v1/auth/login", body, {"content-type": "application/json"})
            status = conn.getresponse().status
            conn.close()
        except OSError:
            status = "error"
        with lock:
            statuses[status] += 1


started = time.time()
threads = [threading.Thread(target=attacker, args=(i,)) for i in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.time() - started
total = sum(statuses.values())
rate = total / elapsed


def crc16(data):
    return binascii.crc_hqx(data, 0)


def slot(key):
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16(key.encode()) % 16384


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=True).stdout


# Redis: commands per node (the scripts), keys per slot.
per_node = {}
per_slot = collections.Counter()
for port in ports:
    stats = cli(port, "info", "commandstats")
    calls = 0
    for line in stats.splitlines():
        if line.startswith("cmdstat_evalsha:") or line.startswith("cmdstat_eval:"):
            calls += int(line.split("calls=")[1].split(",")[0])
    keys = [k for k in cli(port, "--scan").splitlines() if k]
    for k in keys:
        per_slot[slot(k)] += 1
    per_node[port] = {"scripts": calls, "keys": len(keys)}
slots_used = len(per_slot)
hottest_slot = max(per_slot.values()) if per_slot else 0
mean_slot = sum(per_slot.values()) / max(slots_used, 1)

# DynamoDB: items per partition of the security table (audit events, lockouts).
try:
    import boto3
    db = boto3.client("dynamodb", endpoint_url=dynamo, region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="x")
    partitions = collections.Counter()
    kinds = collections.Counter()
    start = None
    while True:
        args = {"TableName": table, "ProjectionExpression": "pk"}
        if start:
            args["ExclusiveStartKey"] = start
        page = db.scan(**args)
        for item in page["Items"]:
            pk = item["pk"]["S"]
            partitions[pk] += 1
            kinds[pk.split("#")[0]] += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    audit = {k: v for k, v in partitions.items() if k.startswith("EVENT#")}
    lockouts = {k: v for k, v in partitions.items() if k.startswith("LOCKOUT#")}
except ImportError:
    audit, lockouts, kinds = {}, {}, {}

attack = 100_000
scale = attack / rate if rate else 0
out = {
    "seconds": round(elapsed, 1),
    "attempts": total,
    "attempts_per_second": round(rate, 1),
    "statuses": {str(k): v for k, v in statuses.items()},
    "client_addresses": addresses,
    "names": names,
    "redis": {
        "per_node": per_node,
        "slots_with_keys": slots_used,
        "keys_in_hottest_slot": hottest_slot,
        "keys_per_used_slot_mean": round(mean_slot, 2),
    },
    "dynamodb": {
        "items_by_kind": dict(kinds),
        "audit_partitions": len(audit),
        "audit_writes_per_second_hottest_partition": round(max(audit.values(), default=0) / elapsed, 2),
        "audit_writes_per_second_mean_partition": round(sum(audit.values()) / max(len(audit), 1) / elapsed, 2),
        "lockout_items": len(lockouts),
    },
    "extrapolated_to_100k_attempts_per_second": {
        "factor": round(scale, 1),
        "audit_writes_per_second_hottest_partition": round(max(audit.values(), default=0) / elapsed * scale, 1),
        "redis_scripts_per_second_per_node": {p: round(n["scripts"] / elapsed * scale) for p, n in per_node.items()},
    },
}
with open(report, "w") as f:
    json.dump(out, f, indent=2)
print(json.dumps(out, indent=2))
