#!/usr/bin/env python3
"""Webhook test vectors for tests/lib/test_webhooks.c and docs/webhooks.md.

Computed with Python's hmac module, independently of libflock's C code, so
the tests check the C implementation against a second one. Run it from this
directory to regenerate vectors.json (the output is deterministic):

    python3 make_vectors.py > vectors.json
"""
import base64
import hashlib
import hmac
import json


def flock_signature(secret, timestamp_ms, data_raw):
    # X-Flock-Signature: key = the secret string's bytes (whsec_ included),
    # message = decimal ms timestamp, ".", the raw bytes of "data".
    msg = str(timestamp_ms).encode() + b"." + data_raw
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest(), msg


def standard_signature(secret, msg_id, timestamp_s, body):
    # Standard Webhooks v1: key = base64-decoded secret after "whsec_",
    # message = id "." timestamp "." body.
    key = base64.b64decode(secret[len("whsec_"):])
    msg = msg_id.encode() + b"." + str(timestamp_s).encode() + b"." + body
    mac = hmac.new(key, msg, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


# Our Standard Webhooks computation must reproduce the specification's own
# published example before we trust it for anything else.
assert standard_signature(
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
    1614265330, b'{"test": 2432232314}'
) == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def envelope(evt_id, name, ts_ms, env, data_raw, sep=b""):
    # Built from raw pieces so the data bytes are exactly what we chose,
    # whitespace and escapes included.
    return (b'{"id":' + json.dumps(evt_id).encode() + b',"name":' +
            json.dumps(name).encode() + b',"timestamp":' +
            str(ts_ms).encode() + b',"environment":' +
            json.dumps(env).encode() + b',"data":' + sep + data_raw + b"}")


# The secret of the worked example: "whsec_" + base64 of bytes 0..31.
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()

CASES = [
    # 1. The worked example of docs/webhooks.md: compact, as flockd sends.
    dict(secret=SECRET, id="evt_01JDQ8ZK3M4Q9T6V2W8X0Y1Z2A",
         name="invitee.accepted", timestamp_ms=1732630000000,
         environment="production",
         data=b'{"invitee":{"id":"cus_01JDQ8ZJ0A1B2C3D4E5F6G7H8J",'
              b'"externalUserId":"user_456"},"referrer":{"id":'
              b'"cus_01JDQ8YB9K8M7N6P5Q4R3S2T1V","externalUserId":'
              b'"user_123"},"referral":{"id":"ref_01JDQ8ZK3K0000000000000000"},'
              b'"campaign":{"id":"cmp_01JDQ8A0000000000000000000",'
              b'"name":"Give $10, get $10"}}'),
    # 2. Whitespace inside data and around it, \u escapes and raw UTF-8:
    # the signed bytes are the raw ones, never a re-serialisation.
    dict(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
         id="evt_2", name="invitee.accepted", timestamp_ms=1732630123456,
         environment="test",
         data=b'{ "invitee" : { "id" : "cus_\\u00e9\\ud83d\\ude00",\n'
              b'  "name":"Zo\xc3\xab \\"Z\\" [x]{y}" },\t"n":[1, 2.50, '
              b'true,null] }',
         sep=b" \n "),
    # 3. Empty data object, environment null.
    dict(secret=SECRET, id="evt_3", name="customer.created",
         timestamp_ms=1, environment=None, data=b"{}"),
]


def main():
    out = []
    for c in CASES:
        body = envelope(c["id"], c["name"], c["timestamp_ms"],
                        c["environment"], c["data"], c.get("sep", b""))
        json.loads(body)  # must be valid JSON
        ts_s = c["timestamp_ms"] // 1000
        sig, msg = flock_signature(c["secret"], c["timestamp_ms"], c["data"])
        out.append({
            "secret": c["secret"],
            "body": body.decode(),
            "data": c["data"].decode(),
            "flock_message": msg.decode(),
            "flock_signature": sig,
            "webhook_id": c["id"],
            "webhook_timestamp": str(ts_s),
            "standard_signature": "v1," + standard_signature(
                c["secret"], c["id"], ts_s, body),
        })
    print(json.dumps(out, indent=1, ensure_ascii=True))


if __name__ == "__main__":
    main()
