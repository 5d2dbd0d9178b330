#!/usr/bin/env python3
"""moto's DynamoDB / Secrets Manager emulator for CloudMind's tests, served by waitress with HTTP keep-alive
(moto's own server closes every connection), plus two endpoints of our own:

  GET  /_cloudmind/requests        {"requests": N, "by_target": {...}}: API calls served so far
  POST /_cloudmind/requests/reset  sets the counts to zero
  GET  /_cloudmind/ses             {"messages": [{"source", "destinations", "subject", "body"}]}: what SES "sent"

Usage: moto_server.py PORT [ADDRESS ...]   (listens on each address, 127.0.0.1 by default)
"""
import json
import sys
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from waitress import serve

_lock = threading.Lock()
_counts = {"requests": 0, "by_target": {}}


def counting(app):
    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_cloudmind/requests":
            if environ.get("REQUEST_METHOD") == "POST":
                with _lock:
                    _counts["requests"] = 0
                    _counts["by_target"] = {}
            with _lock:
                body = json.dumps(_counts).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/_cloudmind/ses":
            body = json.dumps({"messages": _sent_messages()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET", "other").split(".")[-1]
        with _lock:
            _counts["requests"] += 1
            _counts["by_target"][target] = _counts["by_target"].get(target, 0) + 1
        return app(environ, start_response)

    return wrapped


def _sent_messages():
    # SES v1 and v2 share the v1 backend's record of what was sent (every account and region of this emulator).
    from moto.ses.models import ses_backends
    out = []
    for account in ses_backends.values():
        for backend in account.values():
            for m in backend.sent_messages:
                destinations = getattr(m, "destinations", {})
                to = destinations.get("ToAddresses", []) if isinstance(destinations, dict) else list(destinations)
                out.append({"source": m.source, "destinations": to, "subject": getattr(m, "subject", ""),
                            "body": getattr(m, "body", getattr(m, "raw_data", ""))})
    return out


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5001
    application = counting(DomainDispatcherApplication(create_backend_app))
    # One worker thread: moto checks a write's condition and applies it without a lock, so concurrent
    # conditional writes could both pass; DynamoDB applies each atomically, and one thread makes moto do the same.
    hosts = sys.argv[2:] or ["127.0.0.1"]
    # Every test process of a run shares this emulator, and a test that builds many servers in turn (the fixture test
    # builds one per event) keeps their SDK clients' keep-alive connections until it ends: waitress's default limit of
    # 100 open connections made it stop accepting, and the next table creation timed out. Idle connections close
    # after channel_timeout seconds.
    serve(application, listen=" ".join(f"{host}:{port}" for host in hosts), threads=1, connection_limit=2000,
          channel_timeout=60, _quiet=True)
