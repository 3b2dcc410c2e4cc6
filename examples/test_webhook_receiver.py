#!/usr/bin/env python3
"""Drive examples/webhook_receiver over loopback, as Flock would.

usage: test_webhook_receiver.py <path to webhook_receiver>

Signs deliveries independently of libflock (Python's hmac), checks every
answer the Express example gives (200, 401, 400) plus 404/405/413, the
printed lines, the -o JSON-lines file, and a clean exit on SIGTERM.
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def envelope(name, data, ts_ms):
    data_json = json.dumps(data, separators=(",", ":"))
    body = ('{"id":"evt_test1","name":"%s","timestamp":%d,'
            '"environment":"test","data":%s}' % (name, ts_ms, data_json))
    return body, data_json


def flock_sig(ts_ms, data_json):
    msg = ("%d." % ts_ms).encode() + data_json.encode()
    return hmac.new(SECRET.encode(), msg, hashlib.sha256).hexdigest()


def std_sig(msg_id, ts_s, body):
    key = base64.b64decode(SECRET[len("whsec_"):])
    msg = ("%s.%d.%s" % (msg_id, ts_s, body)).encode()
    return "v1," + base64.b64encode(
        hmac.new(key, msg, hashlib.sha256).digest()).decode()


def post(port, body, headers, path="/webhooks/flock", method="POST"):
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path),
        data=body.encode() if method == "POST" else None,
        headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    with tempfile.TemporaryDirectory(prefix="flock-receiver-") as tmp:
        return receive(os.path.join(tmp, "events.jsonl"))


def receive(events):
    env = dict(os.environ, FLOCK_WEBHOOK_SECRET=SECRET)
    proc = subprocess.Popen([sys.argv[1], "-p", "0", "-o", events], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        check(line.startswith("Listening on http://127.0.0.1:"),
              "prints where it listens")
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        run(port, proc, events)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        check(rc == 0, "exits 0 on SIGTERM")
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


def run(port, proc, events):
    now = int(time.time() * 1000)
    body, data = envelope("invitee.accepted",
                          {"invitee": {"id": "cus_inv1"}}, now)
    st = post(port, body, {"X-Flock-Signature": flock_sig(now, data)})
    check(st == (200, '{"received":true}'), "X-Flock-Signature: 200")
    check(proc.stdout.readline() == "Invitee cus_inv1 accepted an invitation\n",
          "prints the invitee line")

    body2, data2 = envelope("reward.created", {"reward": {"id": "rwd_1"}}, now)
    st = post(port, body2, {"webhook-id": "evt_test1",
                            "webhook-timestamp": str(now // 1000),
                            "webhook-signature": std_sig("evt_test1",
                                                         now // 1000, body2)})
    check(st == (200, '{"received":true}'), "Standard Webhooks: 200")
    check(proc.stdout.readline() == "Received event reward.created\n",
          "prints other events by name")

    st = post(port, body, {})
    check(st == (401, '{"error":"Missing signature header"}'),
          "no signature: 401 Missing signature header")
    st = post(port, body, {"X-Flock-Signature": "0" * 64})
    check(st[0] == 400 and "error" in json.loads(st[1]),
          "wrong signature: 400 {error}")
    old = now - 10 * 60 * 1000
    body3, data3 = envelope("invitee.accepted", {}, old)
    st = post(port, body3, {"X-Flock-Signature": flock_sig(old, data3)})
    check(st[0] == 400, "too old: 400")
    check(post(port, body, {}, path="/other")[0] == 404, "other path: 404")
    check(post(port, "", {}, method="GET")[0] == 405, "GET: 405")
    check(post(port, "x" * (2 << 20), {"X-Flock-Signature": "0" * 64})[0]
          == 413, "2 MiB body: 413")

    with open(events) as f:
        lines = [json.loads(x) for x in f]
    check([e["name"] for e in lines] == ["invitee.accepted", "reward.created"],
          "-o file has the verified events only, in order")
    check(lines[0]["data"] == {"invitee": {"id": "cus_inv1"}}
          and lines[0]["timestamp"] == now and lines[0]["id"] == "evt_test1",
          "-o lines carry id, timestamp and data")


if __name__ == "__main__":
    sys.exit(main())
