// What the dashboard's browser tests stand on: a real flockd (init, then
// serve with --test-clock and the dashboard on a free port), webhook
// receivers in this process, Debian's chromium through playwright-core,
// and the admin and wire APIs called directly. Every wait is bounded.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const FLOCKD = process.env.FLOCKD_BIN;
export const QUICKSTART = process.env.QUICKSTART_BIN;
export const SHOTS = process.env.SHOTS_DIR;
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Receivers: /ok answers 200, /dead 500 until heal() (the operator fixed
// the endpoint; from then on it answers 200 too); every body is kept.
export async function receivers() {
  const got = [];
  let healed = false;
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body });
      const up = req.url === '/ok' || healed;
      res.writeHead(up ? 200 : 500, { 'Content-Type': 'application/json' });
      res.end(up ? '{"received":true}' : '{"error":"down for the test"}');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    got, base: `http://127.0.0.1:${srv.address().port}`,
    heal: () => { healed = true; },
    close: () => new Promise((r) => srv.close(r)),
  };
}

export async function startFlockd() {
  const dir = mkdtempSync(join(tmpdir(), 'flock-browser-'));
  const db = join(dir, 'flockd.db');
  const init = JSON.parse(execFileSync(FLOCKD, ['init', '--database', db, '--app-name', 'browser-test'],
    { stdio: ['ignore', 'pipe', 'ignore'], timeout: 30000 }).toString());
  const port = await freePort();
  let log = '';
  const proc = spawn(FLOCKD, ['serve', '--database', db, '--listen', `127.0.0.1:${port}`,
    '--dashboard-listen', '127.0.0.1:0', '--test-clock', '--webhook-allow-private',
    '--webhook-retry-schedule', '1,1', '--webhook-timeout', '5'], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.on('data', (c) => { log += c; });
  const dash = await waitFor('the dashboard\u2019s address in the log', () => {
    const m = log.match(/dashboard at (http:\/\/127\.0\.0\.1:\d+)\/dashboard\//);
    return m && m[1];
  });
  const api = `http://127.0.0.1:${port}`;
  await waitFor('/readyz', async () => (await fetch(`${api}/readyz`)).ok);
  return {
    dir, init, api, dash, proc, log: () => log,
    // SIGTERM and its exit status (0: a clean stop; a sanitizer's report
    // makes it fail).
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.on('exit', r)), new Promise((r) => setTimeout(r, 15000))]);
      }
      if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
      return proc.exitCode;
    },
  };
}

// An API call with a key: {status, body}.
export async function call(base, key, method, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(key ? { Authorization: key } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return { status: res.status, body: json, text, headers: res.headers };
}

export async function browser() {
  const profile = mkdtempSync(join(tmpdir(), 'flock-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 }, acceptDownloads: true,
  });
  return { ctx, close: async () => { await ctx.close(); rmSync(profile, { recursive: true, force: true }); } };
}

// A phone-sized browser (Flock's hosted pages, as a web view shows them):
// 390 x 844 CSS pixels, touch, a mobile user agent.
export async function phone() {
  const profile = mkdtempSync(join(tmpdir(), 'flock-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36',
  });
  return { ctx, close: async () => { await ctx.close(); rmSync(profile, { recursive: true, force: true }); } };
}

export function shot(page, name) {
  if (!SHOTS) return Promise.resolve();
  if (!existsSync(SHOTS)) mkdirSync(SHOTS, { recursive: true });
  // The page as it stays: without a passing message over it.
  return page.evaluate(() => document.getElementById('status').classList.remove('on'))
    .then(() => page.waitForFunction(() => getComputedStyle(document.getElementById('status')).opacity === '0'))
    .then(() => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }));
}

const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

// axe-core on the page as it is; the serious and critical findings.
// (Evaluated through the DevTools protocol, which the page's CSP does not
// govern: the page itself never runs inline script.)
// The dashboard's message (#status) fades in and out over 0.2 s; caught
// half-faded, its white text on a half-transparent dark box fails the
// contrast rule though a person only ever reads it at full opacity (a scan
// on a slow machine did). So the scan sees it at rest: no transition while
// axe runs, set through the CSSOM, which the CSP allows.
export async function axe(page) {
  await page.evaluate(AXE);
  const r = await page.evaluate(async () => {
    const status = document.getElementById('status');
    if (status) status.style.transition = 'none';
    try { return await window.axe.run(document, { resultTypes: ['violations'] }); }
    finally { if (status) status.style.transition = ''; }
  });
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
}
