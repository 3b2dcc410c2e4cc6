// The dashboard in a browser, as an operator uses it (docs/dashboard.md):
// scripts/test.sh's stage "browser". Needs FLOCKD_BIN, QUICKSTART_BIN;
// SHOTS_DIR gets a screenshot of every page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startFlockd, receivers, browser, call, waitFor, shot, axe, QUICKSTART } from './harness.mjs';

const run = promisify(execFile);

test('the dashboard, end to end', { timeout: 420000 }, async (t) => {
  const fd = await startFlockd();
  const rx = await receivers();
  const b = await browser();
  const admin = fd.init.adminToken, service = fd.init.serviceKey, app = fd.init.applicationId;
  const A = (m, p, body) => call(fd.api, admin, m, p, body);
  const W = (m, p, body) => call(fd.api, service, m, p, body);
  const violations = [];
  const page = await b.ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.exposeFunction('__cspViolation', (v) => violations.push(v));
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => window.__cspViolation(`${e.violatedDirective} ${e.blockedURI}`)));
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const D = (hash) => `${fd.dash}/dashboard/${hash}`;
  const go = async (hash, title) => {
    await page.goto(D(hash));
    await page.locator('h1', { hasText: title }).waitFor();
    await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
  };
  const a11y = {};
  const scan = async (name) => { a11y[name] = await axe(page); };
  const confirm = async () => { await page.locator('#confirm-yes').click(); };
  // After a click that should show a secret: the dialog, or a failure that
  // says what the page said last (its toast) and leaves a screenshot.
  const secretDialog = async (what) => {
    try { await page.locator('#secret-dialog[open]').waitFor(); } catch (e) {
      const said = await page.locator('#status').textContent();
      await shot(page, `failed-${what}`);
      assert.fail(`${what}: no secret shown (${e.message.split('\n')[0]}); the page says "${said}"`);
    }
  };
  const secretShown = async () => {
    const v = await page.locator('#secret-value').inputValue();
    await page.locator('#secret-close').click();
    await page.locator('#secret-dialog:not([open])').waitFor({ state: 'attached' });
    return v;
  };
  try {
    await t.test('login: a wrong token is refused, an admin token opens the overview', async () => {
      await page.goto(D(''));
      await page.getByLabel('Admin token').waitFor();
      await shot(page, 'login');
      await scan('login');
      await page.getByLabel('Admin token').fill('fat_wrong');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByText('This is not an admin token flockd knows.').waitFor();
      await page.getByLabel('Admin token').fill(admin);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('h1', { hasText: 'Overview' }).waitFor();
      const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie + location.href);
      assert.ok(!stored.includes(admin), 'the token is in the page\u2019s storage or URL');
      assert.ok(!stored.includes('flock_session'), 'the session cookie is readable by scripts');
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await shot(page, 'overview-empty');
    });

    let campaignId;
    await t.test('create a campaign with both rewards and a reward checkpoint, and go live', async () => {
      await go('#/campaigns', 'Campaigns');
      await page.getByText('No campaign in production yet').waitFor();
      await page.getByRole('link', { name: 'New campaign' }).click();
      await page.locator('h1', { hasText: 'New campaign' }).waitFor();
      await page.getByLabel('Name', { exact: true }).first().fill('Give $10, get $10');
      await page.getByLabel('Invite message').fill('Get $10 off your first order with my code');
      await page.getByLabel('Referrer page title').fill('Give $10, get $10');
      const r1 = page.locator('fieldset.reward').nth(0), r2 = page.locator('fieldset.reward').nth(1);
      await r1.getByLabel('Amount').fill('10');
      await r1.getByLabel('Limit', { exact: true }).fill('10');
      await r1.getByLabel('Per', { exact: true }).selectOption('month');
      await r2.getByLabel('Party').selectOption('referee');
      await r2.getByLabel('Amount').fill('10');
      await page.getByLabel('Checkpoint name').fill('purchase_completed');
      await scan('campaign-new');
      await shot(page, 'campaign-new');
      await page.getByRole('button', { name: 'Create campaign' }).click();
      await page.locator('h1', { hasText: 'Campaign Give $10, get $10' }).waitFor();
      campaignId = decodeURIComponent(page.url().split('#/campaigns/')[1]);
      await page.getByRole('button', { name: 'Go live' }).click();
      await confirm();
      await page.getByRole('button', { name: 'Take offline' }).waitFor();
      const k = (await A('GET', `/admin/apps/${app}/campaigns/${campaignId}`)).body;
      assert.equal(k.isLive, true);
      assert.deepEqual(k.rewards.map((r) => [r.party, r.payoutAmount, r.currency]).sort(), [['referee', 10, 'usd'], ['referrer', 10, 'usd']]);
      assert.equal(k.rewards.find((r) => r.party === 'referrer').limit, 10);
      // The pages in the shape Flock's mobile SDKs decode (docs/mobile-sdks.md).
      assert.deepEqual(k.campaignPages.map((p) => [p.path, p.placementId, p.isEmpty, p.title ?? null]),
        [['referrer', 'referrer', false, 'Give $10, get $10'], ['invitee', 'invitee', false, null], ['success', 'success', false, null]]);
      assert.ok(k.campaignPages.every((p) => /^cpg_/.test(p.id) && p.screenProps.primaryColor === '#1d4ed8'));
      const chk = (await A('GET', `/admin/apps/${app}/campaigns/${campaignId}/checkpoints`)).body.data;
      assert.deepEqual(chk.map((c) => [c.checkpointName, c.trigger]), [['purchase_completed', 'reward']]);
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await scan('campaign');
      await shot(page, 'campaign');
      await go('#/campaigns', 'Campaigns');
      await page.getByRole('link', { name: 'Give $10, get $10' }).waitFor();
      await scan('campaigns');
      await shot(page, 'campaigns');
    });

    let okSecret, deadId, okId;
    await t.test('webhook endpoints: the secret is shown once', async () => {
      await go('#/webhooks', 'Webhooks');
      await page.getByText('No webhook endpoint yet').waitFor();
      for (const path of ['/ok', '/dead']) {
        await page.getByLabel('URL').fill(rx.base + path);
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        await secretDialog('Add endpoint');
        const s = await secretShown();
        assert.match(s, /^whsec_/);
        if (path === '/ok') okSecret = s;
      }
      const eps = (await A('GET', `/admin/apps/${app}/webhook-endpoints`)).body.data;
      okId = eps.find((e) => e.url.endsWith('/ok')).id;
      deadId = eps.find((e) => e.url.endsWith('/dead')).id;
      assert.ok(!JSON.stringify(eps).includes('whsec_'), 'a listed endpoint shows its secret');
      await page.getByRole('link', { name: `${rx.base}/dead` }).waitFor();
      await scan('webhooks');
      await shot(page, 'webhooks');
    });

    await t.test('the C quick start against the same flockd moves the referral, the rewards and the funnel', async () => {
      const { stdout } = await run(QUICKSTART, ['purchase_completed'], {
        env: { ...process.env, FLOCK_BASE_URL: fd.api, FLOCK_ACCESS_KEY: service }, timeout: 60000 });
      assert.match(stdout, /2 reward\(s\) granted/);
      await go('#/overview', 'Overview');
      const count = (stage) => page.locator(`[data-stage="${stage}"]`).innerText();
      // Visits are written once a second by the writer's housekeeping.
      await waitFor('the funnel to count the visit', async () => {
        await page.getByRole('button', { name: 'Show' }).click();
        await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
        return (await count('visits')) === '1';
      });
      assert.equal(await count('referrals'), '1');
      assert.equal(await count('accepted'), '1');
      assert.equal(await count('rewards'), '2');
      assert.equal(await page.locator('[data-currency="usd"]').innerText(), '20.00 USD');
      await page.locator('.chart canvas').first().waitFor();
      await page.getByRole('table', { name: 'Top referrers' }).waitFor();
      await scan('overview');
      await shot(page, 'overview');
    });

    await t.test('customers: search by email prefix, the detail shows referrals and rewards', async () => {
      await go('#/customers', 'Customers');
      await page.getByLabel('Search customers').fill('REFERRER.');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByText('1 match(es)').waitFor();
      await scan('customers');
      await shot(page, 'customers');
      await page.locator('table a').first().click();
      await page.locator('h1', { hasText: 'Customer' }).waitFor();
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      assert.equal(await page.getByRole('table', { name: 'Referrals' }).locator('tbody tr').count(), 1);
      assert.equal(await page.getByRole('table', { name: 'Rewards' }).locator('tbody tr').count(), 1);
      await scan('customer');
      await shot(page, 'customer');
    });

    let flagged;
    await t.test('approve a flagged referral and see its rewards appear', async () => {
      const referrer = (await W('POST', '/customers/identify', { externalUserId: 'jane', email: 'jane@example.com', name: 'Jane Referrer' })).body;
      const invitee = (await W('POST', '/customers/identify', { externalUserId: 'sam', email: 'sam@mailinator.com', name: 'Sam Invitee' })).body;
      assert.equal((await W('POST', '/referrals/validate-code', { referralCode: referrer.referralCode })).body.isValid, true);
      flagged = (await W('POST', '/referrals', { campaignId, referralCode: referrer.referralCode, refereeId: invitee.id })).body;
      assert.equal(flagged.status, 'flagged');
      const ing = (await W('POST', '/checkpoints/ingest', { checkpointName: 'purchase_completed', externalUserId: 'sam', environment: 'production' })).body;
      assert.equal(ing.rewards.length, 0);
      await go('#/referrals', 'Review queue');
      await page.getByText('disposable', { exact: false }).first().waitFor();
      await page.getByText('Jane Referrer').waitFor();
      await scan('referrals');
      await shot(page, 'referrals');
      await page.getByRole('button', { name: `Approve referral ${flagged.id}` }).click();
      await waitFor('the approval\u2019s message', async () => /approved/.test(await page.locator('#status').innerText()));
      assert.equal(await page.locator('#status').innerText(), '1 referral(s) approved, 2 reward(s) granted.');
      await page.getByText('Nothing to review in production').waitFor();
      await go('#/rewards', 'Rewards');
      await page.getByText('of 4').waitFor();
      await page.getByRole('link', { name: invitee.id }).first().waitFor();
    });

    await t.test('rewards: fulfil one, export the CSV and check its rows', async () => {
      const list = (await A('GET', `/admin/apps/${app}/rewards?limit=100`)).body.data;
      assert.equal(list.length, 4);
      const one = list.find((r) => r.status === 'approved');
      await page.getByRole('button', { name: `Fulfil reward ${one.id}` }).click();
      await page.getByText(`Reward ${one.id} fulfilled.`).waitFor();
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await scan('rewards');
      await shot(page, 'rewards');
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      const csv = readFileSync(await dl.path(), 'utf8').trim().split('\r\n');
      assert.equal(csv[0].split(',')[0], 'id');
      assert.equal(csv.length, 5, 'a header and four rewards');
      const ids = csv.slice(1).map((l) => JSON.parse(l.split(',')[0]));
      assert.deepEqual([...ids].sort(), list.map((r) => r.id).sort());
      const row = csv.find((l) => l.startsWith(`"${one.id}"`));
      assert.match(row, /"fulfilled"/);
      assert.match(row, /"10","","","usd"/);
    });

    await t.test('webhooks: rotate a secret; run the retries out with the test clock and replay the dead', async () => {
      await go(`#/webhooks/${okId}`, 'Webhook');
      await page.getByRole('button', { name: 'Rotate secret' }).click();
      await secretDialog('Rotate secret');
      const fresh = await secretShown();
      assert.match(fresh, /^whsec_/);
      assert.notEqual(fresh, okSecret);
      assert.ok((await A('GET', `/admin/apps/${app}/webhook-endpoints/${okId}`)).body.previousSecretExpiresAt);
      // The dead endpoint answers 500: two retries a second apart, then dead.
      const dead = async () => (await A('GET', `/admin/apps/${app}/webhook-endpoints/${deadId}/deliveries?state=dead&limit=100`)).body;
      await waitFor('every delivery to the failing endpoint to be dead', async () => {
        await A('POST', '/admin/test/clock', { advanceMs: 1500 });
        const all = (await A('GET', `/admin/apps/${app}/webhook-endpoints/${deadId}/deliveries?limit=100`)).body;
        return all.total > 0 && (await dead()).total === all.total;
      }, 30000);
      const before = await dead();
      await go(`#/webhooks/${deadId}`, 'Webhook');
      await page.getByLabel('State').selectOption('dead');
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await page.locator('summary', { hasText: 'Attempts' }).first().click();
      await page.getByRole('table', { name: 'Attempts' }).first().waitFor();
      assert.equal(await page.getByRole('table', { name: 'Attempts' }).first().locator('tbody tr').count(), 3);
      await scan('webhook');
      await shot(page, 'webhook');
      // The endpoint is fixed before the dead are replayed, as an operator
      // does it. (Were it still failing, the clock (real time plus the
      // offset) would run the first replay's two one-second retries out
      // while a slow machine was still clicking, and it would be among the
      // dead "Replay all dead" counts.)
      rx.heal();
      const first = before.data[0];
      await page.getByRole('button', { name: `Replay delivery of ${first.eventName} ${first.eventId}` }).click();
      await page.getByText('1 delivery replayed.').waitFor();
      await page.getByRole('button', { name: 'Replay all dead' }).click();
      await page.getByText(`${before.total - 1} dead delivery(ies) replayed.`).waitFor();
      // The replayed deliveries are attempted again and now delivered: the
      // first one's log grows past the three attempts it died after, and
      // no delivery to that endpoint is dead any more.
      await waitFor('a new attempt of the replayed delivery', async () => {
        const log = (await A('GET', `/admin/apps/${app}/webhook-endpoints/${deadId}/attempts?deliveryId=${first.id}&limit=100`)).body;
        return log.total > 3;
      });
      await waitFor('the replayed deliveries to be delivered', async () => (await dead()).total === 0);
    });

    await t.test('applications and keys: a key\u2019s secret is shown once, and it can be revoked', async () => {
      await go('#/apps', 'Applications and keys');
      await page.getByLabel('Kind').selectOption('service');
      await page.getByLabel('Environment', { exact: true }).last().selectOption('test');
      await page.getByRole('button', { name: 'Create key' }).click();
      await secretDialog('Create key');
      const sk = await secretShown();
      assert.match(sk, /^sk_/);
      assert.equal((await call(fd.api, sk, 'GET', '/campaigns')).status, 200);
      const keys = (await A('GET', `/admin/apps/${app}/keys?limit=100`)).body.data;
      const made = keys.find((k) => sk.startsWith(k.prefix.replace('...', '')) && k.environment === 'test');
      await page.getByRole('button', { name: `Revoke key ${made.prefix}` }).click();
      await confirm();
      await page.getByText(`Key ${made.prefix} revoked.`).waitFor();
      assert.equal((await call(fd.api, sk, 'GET', '/campaigns')).status, 401);
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await scan('apps');
      await shot(page, 'apps');
    });

    await t.test('security: no session, a wrong CSRF token, another origin, another application\u2019s ids', async () => {
      const cookies = await b.ctx.cookies(`${fd.dash}/dashboard/`);
      const session = cookies.find((c) => c.name === 'flock_session');
      assert.ok(session.httpOnly && session.sameSite === 'Strict' && session.path === '/dashboard/');
      const jar = `flock_session=${session.value}`;
      const csrf = (await call(fd.dash, null, 'GET', '/dashboard/api/session', undefined, { Cookie: jar })).body.csrfToken;
      const P = (m, p, body, h = {}) => call(fd.dash, null, m, `/dashboard/api/admin${p}`, body, { Cookie: jar, ...h });
      assert.equal((await call(fd.dash, null, 'GET', `/dashboard/api/admin/apps`)).status, 401, 'no session');
      assert.equal((await call(fd.dash, null, 'GET', `/dashboard/api/admin/apps`, undefined, { Authorization: admin })).status, 401, 'a bearer token on the dashboard port');
      assert.equal((await P('GET', '/apps')).status, 200);
      const wrong = await P('POST', '/apps', { name: 'evil' }, { 'X-CSRF-Token': 'f'.repeat(64) });
      assert.equal(wrong.status, 403);
      assert.equal(wrong.body.code, 'csrf_failed');
      assert.equal((await P('POST', '/apps', { name: 'evil' })).status, 403, 'no CSRF token');
      assert.equal((await P('POST', '/apps', { name: 'evil' }, { 'X-CSRF-Token': csrf, Origin: 'https://evil.example' })).status, 403, 'another origin');
      assert.equal((await P('POST', '/apps', { name: 'evil' }, { 'X-CSRF-Token': csrf, 'Sec-Fetch-Site': 'cross-site' })).status, 403, 'a cross-site request');
      assert.equal((await P('POST', '/test/clock', { advanceMs: 0 }, { 'X-CSRF-Token': csrf })).status, 404, 'the test clock is not the dashboard\u2019s');
      // Another application: its campaign is not found through this one's path.
      const other = (await P('POST', '/apps', { name: 'other' }, { 'X-CSRF-Token': csrf })).body;
      const theirs = (await A('POST', `/admin/apps/${other.id}/campaigns`, { name: 'theirs', environment: 'production' })).body;
      assert.equal((await P('GET', `/apps/${app}/campaigns/${theirs.id}`)).status, 404);
      assert.equal((await P('PATCH', `/apps/${app}/campaigns/${theirs.id}`, { name: 'stolen' }, { 'X-CSRF-Token': csrf })).status, 404);
      // A token of one application, logged in: the other application does not exist for it.
      const bound = (await A('POST', `/admin/apps/${app}/keys`, { kind: 'admin' })).body.secret;
      const login = await call(fd.dash, null, 'POST', '/dashboard/api/login', { token: bound });
      assert.equal(login.status, 200);
      assert.equal(login.body.scope.applicationId, app);
      const jar2 = login.headers.get('set-cookie').split(';')[0];
      const seen = await call(fd.dash, null, 'GET', '/dashboard/api/admin/apps', undefined, { Cookie: jar2 });
      assert.deepEqual(seen.body.data.map((x) => x.id), [app]);
      const denied = await call(fd.dash, null, 'GET', `/dashboard/api/admin/apps/${other.id}/campaigns`, undefined, { Cookie: jar2 });
      assert.equal(denied.status, 404);
      assert.equal(denied.body.code, 'app_not_found');
      // A service key is no admin token.
      assert.equal((await call(fd.dash, null, 'POST', '/dashboard/api/login', { token: service })).status, 401);
      // Headers: a strict CSP, no caching of API answers.
      const index = await fetch(`${fd.dash}/dashboard/`);
      assert.match(index.headers.get('content-security-policy'), /script-src 'self';/);
      assert.doesNotMatch(index.headers.get('content-security-policy'), /unsafe-inline/);
      assert.match(await index.text(), /<script type="module" src="app.js"><\/script>/);
      assert.equal((await P('GET', '/apps')).headers.get('cache-control'), 'no-store');
      const etag = index.headers.get('etag');
      assert.equal((await fetch(`${fd.dash}/dashboard/`, { headers: { 'If-None-Match': etag } })).status, 304);
    });

    await t.test('an accessibility scan of every page finds nothing serious or critical', async () => {
      for (const [name, hash, title] of [['campaigns', '#/campaigns', 'Campaigns'], ['customers', '#/customers', 'Customers']]) {
        if (!a11y[name]) { await go(hash, title); await scan(name); }
      }
      const bad = Object.entries(a11y).filter(([, v]) => v.length).map(([k, v]) => `${k}: ${v.join(' | ')}`);
      assert.deepEqual(bad, []);
      assert.ok(Object.keys(a11y).length >= 12, `scanned ${Object.keys(a11y).join(', ')}`);
    });

    await t.test('log out, and be refused', async () => {
      const before = (await b.ctx.cookies(`${fd.dash}/dashboard/`)).find((c) => c.name === 'flock_session').value;
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByText('You are logged out.').waitFor();
      const r = await page.evaluate(async () => (await fetch('/dashboard/api/admin/apps')).status);
      assert.equal(r, 401);
      const old = await call(fd.dash, null, 'GET', '/dashboard/api/admin/apps', undefined, { Cookie: `flock_session=${before}` });
      assert.equal(old.status, 401, 'the old cookie still works');
      await page.goto(D('#/rewards'));
      await page.getByLabel('Admin token').waitFor();
    });

    await t.test('the page never broke its CSP, never threw, and the token is in no log', async () => {
      assert.deepEqual(violations, []);
      assert.deepEqual(pageErrors, []);
      assert.ok(!fd.log().includes(admin), 'the admin token is in the log');
    });

    await t.test('login attempts are rate limited', async () => {
      let limited = null;
      for (let i = 0; i < 15 && !limited; i++) {
        const r = await call(fd.dash, null, 'POST', '/dashboard/api/login', { token: `fat_guess${i}` });
        if (r.status === 429) limited = r;
      }
      assert.ok(limited, 'fifteen wrong tokens in a row were all tried');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal((await call(fd.dash, null, 'POST', '/dashboard/api/login', { token: admin })).status, 429);
    });
  } finally {
    await b.close();
    await rx.close();
    const code = await fd.stop();
    assert.equal(code, 0, `flockd stopped with ${code}: ${fd.log().slice(-3000)}`);
  }
});
