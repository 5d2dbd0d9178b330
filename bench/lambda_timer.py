#!/usr/bin/env python3
"""CloudMind's cold-start and warm-invoke harness: a single-threaded Lambda Runtime API stub (loopback only).

It spawns a function's bootstrap as Lambda would (AWS_LAMBDA_RUNTIME_API pointing at itself), then measures:
  init      wall time from spawn to the first GET /invocation/next (Lambda's Init boundary)
  cpu_init  CPU the process used until then (schedstat of every thread)
  first     the first invoke, /next to /response (connections opened lazily show up here)
  warm      median round trip of the following invokes, and CPU per warm invoke
  rss       peak resident memory (VmHWM)
The same event is served for every invoke. Run floors and functions through it the same way and compare ratios.

Usage: lambda_timer.py --runs 10 --warm 200 --label health --event events/health.json -- target/release/health
"""
import argparse
import json
import os
import selectors
import signal
import socket
import statistics
import subprocess
import time
import uuid


def cpu_ms(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def response_head(event):
    return (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Lambda-Runtime-Aws-Request-Id: {uuid.uuid4()}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {int(time.time() * 1000) + 30000}\r\n"
        "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
        "Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
        f"Content-Length: {len(event)}\r\n\r\n"
    ).encode()


def run_once(cmd, warm, event):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME="bench",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_LOG_GROUP_NAME="bench", AWS_LAMBDA_LOG_STREAM_NAME="bench", _HANDLER="bootstrap")
    start = time.perf_counter_ns()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    buffers, nexts, responses, statuses = {}, [], [], []
    marks, served, done = {}, 0, False
    while not done:
        events = sel.select(timeout=60)
        if not events:
            raise SystemExit(f"{cmd[0]}: no request from the function within 60 s")
        for key, _ in events:
            sock = key.fileobj
            if sock is listener:
                conn, _ = listener.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffers[conn] = b""
                sel.register(conn, selectors.EVENT_READ)
                continue
            data = sock.recv(65536)
            if not data:
                sel.unregister(sock)
                sock.close()
                buffers.pop(sock, None)
                continue
            buffers[sock] += data
            while b"\r\n\r\n" in buffers[sock]:
                head, rest = buffers[sock].split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                method, path, _ = lines[0].split(b" ", 2)
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if len(rest) < length:
                    break
                body, buffers[sock] = rest[:length], rest[length:]
                now = time.perf_counter_ns()
                if method == b"GET" and path.endswith(b"/invocation/next"):
                    if not nexts:
                        marks["cpu_init"] = cpu_ms(proc.pid)
                    if len(nexts) == 2:
                        marks["cpu_warm_start"] = cpu_ms(proc.pid)
                    nexts.append(now)
                    if served > warm:
                        marks["cpu_end"] = cpu_ms(proc.pid)
                        marks["rss"] = peak_rss_mib(proc.pid)
                        done = True
                        break
                    served += 1
                    sock.sendall(response_head(event) + event)
                else:
                    if b"/response" in path or b"/error" in path:
                        responses.append(now)
                        try:
                            statuses.append(json.loads(body).get("statusCode"))
                        except (ValueError, AttributeError):
                            statuses.append(None)
                    sock.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            if done:
                break
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for sock in list(buffers):
        sock.close()
    listener.close()
    warm_rtt = [(responses[i] - nexts[i]) / 1e3 for i in range(1, min(len(responses), len(nexts)))]
    return {
        "init": (nexts[0] - start) / 1e6,
        "cpu_init": marks["cpu_init"],
        "first": (responses[0] - nexts[0]) / 1e6,
        "warm": statistics.median(warm_rtt) if warm_rtt else float("nan"),
        "cpu_warm": (marks["cpu_end"] - marks["cpu_warm_start"]) * 1e3 / max(1, warm - 1),
        "rss": marks["rss"],
        "statuses": sorted(set(statuses), key=str),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--label", default="")
    ap.add_argument("--event", help="event file (default: an empty JSON object)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table row")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    event = open(args.event, "rb").read() if args.event else b"{}"
    runs = [run_once(cmd, args.warm, event) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in ("init", "cpu_init", "first", "warm", "cpu_warm", "rss")}
    med["statuses"] = sorted({s for r in runs for s in r["statuses"]}, key=str)
    if args.json:
        print(json.dumps({"label": args.label, **med}))
    else:
        print(f"{args.label:14} init {med['init']:7.2f} ms | CPU to first /next {med['cpu_init']:6.2f} ms | "
              f"first {med['first']:6.2f} ms | warm {med['warm']:7.1f} us | CPU/warm {med['cpu_warm']:7.1f} us | "
              f"peak RSS {med['rss']:5.1f} MiB | status {med['statuses']}")


if __name__ == "__main__":
    main()
