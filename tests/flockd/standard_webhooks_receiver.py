#!/usr/bin/env python3
"""A Standard Webhooks receiver written from the spec, not from libflock.

usage: standard_webhooks_receiver.py <path to flockd>

Runs flockd (init, then serve with --webhook-allow-private, the spec's
retry schedule and --test-clock: the test moves flockd's clock past the
first retry's 5 s instead of waiting for them), subscribes an endpoint pointing at an http.server in
this process, causes events, and verifies every delivery with Python's
stdlib only (hmac, hashlib, base64, json), following
https://www.standardwebhooks.com/ (webhook-id, webhook-timestamp,
webhook-signature = "v1,<base64 HMAC-SHA256(base64-decoded secret after
whsec_, id.timestamp.body)>", space-separated during rotation) and api.md
section 6 for X-Flock-Signature (hex HMAC-SHA256(secret string bytes,
timestamp "." raw data bytes)).

Checks: the first attempt is answered 500 and the retry carries the same
webhook-id and verifies again; both schemes verify; timestamps are fresh;
during a secret rotation both secrets verify.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOLERANCE_S = 300
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def standard_verify(secret, headers, body):
    """The Standard Webhooks verification, from the spec."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not (msg_id and ts and sigs) or not ts.isdigit():
        return False
    if abs(time.time() - int(ts)) > TOLERANCE_S:
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    expected = base64.b64encode(hmac.new(
        key, ("%s.%s." % (msg_id, ts)).encode() + body,
        hashlib.sha256).digest()).decode()
    for item in sigs.split(" "):
        version, _, sig = item.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def flock_verify(secret, headers, body):
    """X-Flock-Signature (api.md section 6): raw data bytes, sliced."""
    sig = headers.get("X-Flock-Signature", "")
    env = json.loads(body)
    text = body.decode()
    start = text.index(',"data":') + len(',"data":')
    data = text[start:-1]  # data is the envelope's last member
    if json.loads(data) != env["data"]:
        return False
    msg = ("%d." % env["timestamp"]).encode() + data.encode()
    expected = hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, expected)


class Receiver(http.server.BaseHTTPRequestHandler):
    seen = []
    lock = threading.Lock()
    fail_first = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with Receiver.lock:
            Receiver.seen.append((dict(self.headers.items()), body))
            status = 500 if (Receiver.fail_first and
                             len(Receiver.seen) == 1) else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Headers(dict):
    """Case-insensitive lookups, as HTTP headers are."""

    def get(self, k, default=None):
        for key, v in self.items():
            if key.lower() == k.lower():
                return v
        return default


def call(base, method, path, token, body=None):
    req = urllib.request.Request(
        base + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": "Bearer " + token,
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def wait_attempts(base, app, ep_id, token, n, timeout=30):
    """Until the endpoint's attempt log has n attempts (the retry is
    scheduled once the attempt is recorded)."""
    end = time.time() + timeout
    while time.time() < end:
        _, log = call(base, "GET", app + "/webhook-endpoints/%s/attempts"
                      % ep_id, token)
        if log["total"] >= n:
            return True
        time.sleep(0.02)
    return False


def wait_for(n, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        with Receiver.lock:
            if len(Receiver.seen) >= n:
                return True
        time.sleep(0.05)
    return False


def main():
    flockd = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="stdwh-")
    db = os.path.join(tmp, "flockd.db")
    proc = None
    server = None
    try:
        init = json.loads(subprocess.run(
            [flockd, "init", "--database", db], check=True,
            capture_output=True).stdout)
        rx_port = free_port()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", rx_port),
                                                 Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        log = open(os.path.join(tmp, "flockd.log"), "w")
        proc = subprocess.Popen(
            [flockd, "serve", "--database", db, "--listen",
             "127.0.0.1:%d" % port, "--webhook-allow-private",
             "--test-clock", "--log-level", "warn"],
            stdout=log, stderr=log)
        end = time.time() + 15
        while time.time() < end:
            try:
                urllib.request.urlopen(base + "/readyz", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        app = "/admin/apps/%s" % init["applicationId"]
        status, ep = call(base, "POST", app + "/webhook-endpoints",
                          init["adminToken"],
                          {"url": "http://127.0.0.1:%d/hook" % rx_port})
        check(status == 201 and ep["secret"].startswith("whsec_"),
              "endpoint created, secret shown once")
        secret = ep["secret"]
        check(len(base64.b64decode(secret[6:])) == 32,
              "secret is whsec_ + base64 of 32 bytes")

        call(base, "POST", "/customers/identify", init["serviceKey"],
             {"externalUserId": "std-1", "email": "std-1@example.com"})
        check(wait_for(1) and wait_attempts(base, app, ep["id"],
                                            init["adminToken"], 1),
              "the first attempt is answered 500 and recorded")
        status, clk = call(base, "POST", "/admin/test/clock",
                           init["adminToken"], {"advanceMs": 5000})
        check(status == 200 and clk["nowMs"] >= time.time() * 1000 + 4000,
              "the test clock moved past the first retry's 5 s")
        check(wait_for(2), "the 500 is retried")
        (h0, b0), (h1, b1) = [(Headers(h), b) for h, b in Receiver.seen[:2]]
        check(h0.get("webhook-id") == h1.get("webhook-id"),
              "the retry has the same webhook-id")
        check(json.loads(b1)["id"] == h1.get("webhook-id"),
              "webhook-id is the envelope id")
        check(json.loads(b1)["name"] == "customer.created",
              "customer.created delivered")
        for i, (h, b) in enumerate([(h0, b0), (h1, b1)]):
            check(standard_verify(secret, h, b),
                  "attempt %d: Standard Webhooks signature verifies" % i)
            check(flock_verify(secret, h, b),
                  "attempt %d: X-Flock-Signature verifies" % i)
            check(not standard_verify(secret, h, b + b" "),
                  "attempt %d: a changed body does not verify" % i)
            check(h.get("Content-Type") == "application/json",
                  "attempt %d: Content-Type application/json" % i)

        status, rot = call(base, "POST",
                           app + "/webhook-endpoints/%s/rotate-secret"
                           % ep["id"], init["adminToken"],
                           {"graceSeconds": 3600})
        new = rot["secret"]
        check(status == 200 and new != secret, "secret rotated")
        call(base, "POST", "/customers/identify", init["serviceKey"],
             {"externalUserId": "std-2", "email": "std-2@example.com"})
        check(wait_for(3), "delivery after rotation")
        h2, b2 = Headers(Receiver.seen[2][0]), Receiver.seen[2][1]
        check(len(h2.get("webhook-signature").split(" ")) == 2,
              "two signatures during the grace period")
        check(standard_verify(new, h2, b2), "new secret verifies")
        check(standard_verify(secret, h2, b2), "old secret verifies (grace)")
        check(flock_verify(new, h2, b2),
              "X-Flock-Signature uses the new secret")
        check(not standard_verify("whsec_" + base64.b64encode(
            b"\0" * 32).decode(), h2, b2), "a wrong secret does not")

        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=30) == 0, "flockd stops cleanly")
        proc = None
    finally:
        if proc:
            proc.kill()
            proc.wait()
        if server:
            server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
