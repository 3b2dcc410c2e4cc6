#!/usr/bin/env node
// The Node side of bench_webhooks: webhook verification written the way the
// Node SDK is used (JSON.parse, crypto.createHmac, crypto.timingSafeEqual),
// the two functions of docs/webhooks.md "Verifying in Node" with the clock
// pinned, so that bench_webhooks can time libflock against it on the same
// bodies in the same run.
//
// bench_webhooks starts it (node bench/webhooks_node.js) and talks over
// stdin/stdout, one line each way:
//   -> {"secret": "...", "now_ms": N, "bodies": [{"body": <base64>,
//       "flock_signature", "webhook_id", "webhook_timestamp",
//       "webhook_signature", "now_ms"}, ...]}   (now_ms: the clock, pinned)
//   <- "ready"                     (every body verified, tampered ones refused)
//   -> "<flock|standard> <body index> <seconds>"
//   <- "<verifications per second>"
// Run alone it times every case for a second: node bench/webhooks_node.js --self
'use strict';

const crypto = require('node:crypto');
const readline = require('node:readline');

// Standard Webhooks: signs the whole body; works during rotation.
function verifyStandard(rawBody, headers, secret, toleranceS, nowMs) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const expected = crypto.createHmac('sha256', key)
    .update(`${id}.${ts}.`).update(rawBody).digest();
  const ok = (headers['webhook-signature'] || '').split(' ')
    .filter((item) => item.startsWith('v1,'))
    .map((item) => Buffer.from(item.slice(3), 'base64'))
    .some((sig) => sig.length === expected.length &&
                   crypto.timingSafeEqual(sig, expected));
  if (!ok) throw new Error('bad webhook-signature');
  if (Math.abs(nowMs / 1000 - Number(ts)) > toleranceS)
    throw new Error('webhook-timestamp out of tolerance');
  const event = JSON.parse(rawBody.toString('utf8'));
  if (event.id !== id) throw new Error('webhook-id does not match the body');
  return event;
}

// X-Flock-Signature: timestamp "." raw data bytes.
function verifyFlock(rawBody, signature, secret, maxAgeMs, nowMs) {
  const event = JSON.parse(rawBody.toString('utf8'));
  // flockd writes "data" last, compactly: its bytes run from after the
  // first ,"data": to the envelope's closing brace.
  const marker = Buffer.from(',"data":');
  const start = rawBody.indexOf(marker);
  if (start < 0) throw new Error('no data');
  const data = rawBody.subarray(start + marker.length, rawBody.lastIndexOf('}'));
  const expected = crypto.createHmac('sha256', secret)
    .update(`${event.timestamp}.`).update(data).digest();
  const given = Buffer.from(signature || '', 'hex');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
    throw new Error('bad X-Flock-Signature');
  if (maxAgeMs && Math.abs(nowMs - event.timestamp) > maxAgeMs)
    throw new Error('timestamp out of tolerance');
  return event;
}

function cases(config) {
  return config.bodies.map((b) => {
    const raw = Buffer.from(b.body, 'base64');
    const headers = {
      'webhook-id': b.webhook_id,
      'webhook-timestamp': b.webhook_timestamp,
      'webhook-signature': b.webhook_signature,
    };
    const nowMs = b.now_ms !== undefined ? b.now_ms : config.now_ms;
    return {
      raw,
      flock: (body) => verifyFlock(body, b.flock_signature, config.secret,
                                   300000, nowMs),
      standard: (body) => verifyStandard(body, headers, config.secret, 300,
                                         nowMs),
    };
  });
}

// Both verifiers accept each body and refuse it with one byte changed.
function selfCheck(all) {
  for (const c of all) {
    for (const kind of ['flock', 'standard']) {
      if (c[kind](c.raw).id === undefined) throw new Error('no id');
      const bad = Buffer.from(c.raw);
      bad[bad.length - 3] ^= 1;
      let refused = false;
      try { c[kind](bad); } catch (e) { refused = true; }
      if (!refused) throw new Error(`${kind}: tampered body accepted`);
    }
  }
}

function run(fn, raw, seconds) {
  const limit = BigInt(Math.round(seconds * 1e9));
  const t0 = process.hrtime.bigint();
  let ops = 0;
  let elapsed;
  do {
    for (let i = 0; i < 100; i++) fn(raw);
    ops += 100;
    elapsed = process.hrtime.bigint() - t0;
  } while (elapsed < limit);
  return ops / (Number(elapsed) / 1e9);
}

function serve() {
  const rl = readline.createInterface({ input: process.stdin });
  let all = null;
  rl.on('line', (line) => {
    if (all === null) {
      all = cases(JSON.parse(line));
      selfCheck(all);
      process.stdout.write('ready\n');
      return;
    }
    const [kind, index, seconds] = line.trim().split(' ');
    const c = all[Number(index)];
    process.stdout.write(`${run(c[kind], c.raw, Number(seconds)).toFixed(0)}\n`);
  });
}

if (process.argv.includes('--self')) {
  const secret = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
  const body = Buffer.from('{"id":"evt_1","name":"n","timestamp":1000,"data":{"a":1}}');
  const key = Buffer.from(secret.slice(6), 'base64');
  const std = crypto.createHmac('sha256', key).update('evt_1.1.').update(body).digest('base64');
  const fl = crypto.createHmac('sha256', secret).update('1000.{"a":1}').digest('hex');
  const all = cases({ secret, now_ms: 1000, bodies: [{ body: body.toString('base64'),
    flock_signature: fl, webhook_id: 'evt_1', webhook_timestamp: '1',
    webhook_signature: `v1,${std}` }] });
  selfCheck(all);
  for (const kind of ['flock', 'standard'])
    console.log(kind, run(all[0][kind], all[0].raw, 1).toFixed(0));
} else {
  serve();
}
