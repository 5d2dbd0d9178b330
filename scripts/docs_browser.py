#!/usr/bin/env python3
"""The docs page in a real browser: headless Chromium loads /docs over the DevTools protocol and this checks that
the page lists every operation of openapi.yaml, that the console shows no error (exceptions, CSP violations and
failed loads included), and that no request leaves the server's origin. Writes a screenshot.

usage: docs_browser.py CHROMIUM BASE_URL OPENAPI_YAML SCREENSHOT.png WORKDIR
"""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import websocket  # websocket-client
import yaml

chromium, base, spec_path, screenshot, work = sys.argv[1:6]
origin = urllib.parse.urlparse(base)
expected = sorted(
    op["operationId"]
    for item in yaml.safe_load(open(spec_path))["paths"].values()
    for method, op in item.items()
    if isinstance(op, dict) and "operationId" in op
)

profile = os.path.join(work, "chromium-profile")
os.makedirs(profile, exist_ok=True)
port_file = os.path.join(profile, "DevToolsActivePort")
if os.path.exists(port_file):
    os.remove(port_file)
browser = subprocess.Popen(
    [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
     "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
     "--disable-features=Translate,OptimizationHints,MediaRouter", "--remote-debugging-port=0",
     f"--user-data-dir={profile}", "--window-size=1200,1600", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "chromium.log"), "w"))
try:
    for _ in range(150):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.1)
    else:
        sys.exit("error: Chromium did not open its DevTools port (see chromium.log)")
    debug_port = open(port_file).read().split()[0]
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json"))
    page = next(t for t in targets if t["type"] == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)

    next_id = [0]
    events = []

    def call(method, **params):
        next_id[0] += 1
        ws.send(json.dumps({"id": next_id[0], "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == next_id[0]:
                if "error" in message:
                    sys.exit(f"error: {method}: {message['error']}")
                return message.get("result", {})
            events.append(message)

    for domain in ("Page", "Runtime", "Log", "Network"):
        call(f"{domain}.enable")
    call("Page.navigate", url=f"{base}/docs")
    deadline = time.time() + 20
    rendered = None
    while time.time() < deadline:
        value = call("Runtime.evaluate", expression="document.body && document.body.getAttribute('data-rendered')",
                     returnByValue=True)["result"].get("value")
        if value:
            rendered = int(value)
            break
        time.sleep(0.2)
    time.sleep(0.5)  # late console messages and requests
    ids = call("Runtime.evaluate", returnByValue=True,
               expression="[...document.querySelectorAll('[data-operation-id]')].map(e => e.dataset.operationId)")
    listed = sorted(ids["result"].get("value") or [])
    shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    with open(screenshot, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    ws.close()
finally:
    browser.terminate()
    browser.wait(timeout=10)

errors, foreign = [], []
for e in events:
    method, params = e.get("method"), e.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        errors.append("console." + params["type"] + ": " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
    elif method == "Runtime.exceptionThrown":
        errors.append("exception: " + params["exceptionDetails"].get("text", "") + " " +
                      str(params["exceptionDetails"].get("exception", {}).get("description", "")))
    elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
        errors.append("log: " + params["entry"]["text"])
    elif method == "Network.loadingFailed":
        errors.append("failed load: " + str(params.get("errorText")) + " " + str(params.get("blockedReason", "")))
    elif method == "Network.requestWillBeSent":
        url = urllib.parse.urlparse(params["request"]["url"])
        if url.scheme not in ("data", "about") and (url.scheme, url.netloc) != (origin.scheme, origin.netloc):
            foreign.append(params["request"]["url"])

requested = sorted({e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"})
print(f"docs: {rendered} operations rendered, {len(expected)} in openapi.yaml; requests: {requested}")
print(f"docs: screenshot {screenshot}")
problems = []
if listed != expected:
    problems.append(f"listed operations differ: missing {sorted(set(expected) - set(listed))}, "
                    f"extra {sorted(set(listed) - set(expected))}")
problems += [f"console: {e}" for e in errors]
problems += [f"request left the origin: {u}" for u in foreign]
for p in problems:
    print("docs: FAIL " + p)
sys.exit(1 if problems else 0)
