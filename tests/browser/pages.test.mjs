// Flock's hosted pages in a phone-sized chromium, as the iOS and Android
// SDKs' web views open them (docs/mobile-sdks.md): scripts/test.sh's
// stage "browser". A stand-in for each SDK's native bridge, installed at
// document start as the SDKs install theirs, records every message.
// Needs FLOCKD_BIN; PAGES_SHOTS_DIR gets a screenshot of every screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFlockd, receivers, phone, call, waitFor, axe } from './harness.mjs';

const SHOTS = process.env.PAGES_SHOTS_DIR;

const HOSTILE = '<img src=x onerror="window.__pwned=1">Jane & "Co" </b>';

test('Flock\u2019s hosted pages, as the mobile SDKs open them', { timeout: 300000 }, async (t) => {
  const fd = await startFlockd();
  const rx = await receivers();
  const b = await phone();
  const admin = fd.init.adminToken, service = fd.init.serviceKey, pub = fd.init.publicKey, app = fd.init.applicationId;
  const A = (m, p, body) => call(fd.api, admin, m, p, body);
  const W = (m, p, body) => call(fd.api, service, m, p, body);
  const violations = [], pageErrors = [], a11y = {};
  let messages = [];
  const page = await b.ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.exposeFunction('__cspViolation', (v) => violations.push(v));
  await page.exposeFunction('__bridge', (sdk, type, value) => messages.push({ sdk, type, value }));
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => window.__cspViolation(`${e.violatedDirective} ${e.blockedURI}`)));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => { pageErrors.push(`dialog: ${d.message()}`); d.dismiss(); });
  let sdk = 'android';
  // The bridge of the SDK the test picked (sessionStorage survives loads);
  // written out here, since the pages' CSP forbids eval.
  await page.addInitScript(() => {
    if (sessionStorage.getItem('sdk') === 'ios') {
      // FlockSDK-iOS WebViewController.swift:100-106, the message handler
      // FlockWebView standing in for its WKScriptMessageHandler.
      window.webkit = { messageHandlers: { FlockWebView: { postMessage: (m) => window.__bridge('ios', typeof m, String(m)) } } };
      window.ReactNativeWebView = {
        postMessage: function (message) {
          window.webkit.messageHandlers.FlockWebView.postMessage(message);
        },
      };
    } else {
      // FlockSDK-Android FlockWebViewActivity.kt:80-131: a Java object
      // named ReactNativeWebView whose postMessage takes a String.
      window.ReactNativeWebView = { postMessage: (message) => window.__bridge('android', typeof message, String(message)) };
    }
  });
  const useSdk = async (which) => {
    sdk = which;
    await page.goto(`${fd.api}/hosted/pages.css`);
    await page.evaluate((w) => sessionStorage.setItem('sdk', w), which);
  };
  const events = () => messages.map((m) => {
    assert.equal(m.type, 'string', 'the bridge is given a JSON string');
    assert.equal(m.sdk, sdk);
    return JSON.parse(m.value);
  });
  const shot = async (name) => {
    if (!SHOTS) return;
    if (!existsSync(SHOTS)) mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  // Shown, and nothing wider than the phone.
  const ready = async () => {
    await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the page is wider than the phone');
  };
  const scan = async (name) => { a11y[name] = await axe(page); };
  const bg = async (sel) => page.locator(sel).first().evaluate((el) => getComputedStyle(el).backgroundColor);

  try {
    // A campaign as an operator makes it, pages and all, live.
    const k = (await A('POST', `/admin/apps/${app}/campaigns`, {
      name: 'Give $10, get 20% off', environment: 'production',
      inviteMessage: 'Get 20% off your first three months with my code', termsUrl: 'https://example.com/terms',
      refereeLandingPageUrl: `${rx.base}/ok?src=flock`,
      rewards: [
        { type: 'payout', party: 'referrer', method: 'paypal', payoutAmount: 10, currency: 'usd' },
        { type: 'discount', party: 'referee', discountPercentage: 20, discountDurationInMonth: 3 }],
      checkpoints: [
        { checkpointName: 'refer_button_clicked', trigger: 'placement', placementId: 'share' },
        { checkpointName: 'user_onboarded', trigger: 'placement', placementId: 'enter' },
        { checkpointName: 'referral_succeeded', trigger: 'placement', placementId: 'done' },
        { checkpointName: 'purchase_completed', trigger: 'reward' }],
      campaignPages: [
        { path: 'referrer', placementId: 'share', screenProps: { backgroundColor: '#FEF3C7', primaryColor: '#B45309', secondaryColor: '#92400E', textColor: '#1C1917', fontFamily: 'Georgia, serif' } },
        { path: 'invitee', placementId: 'enter', screenProps: { backgroundColor: '#0F172A', primaryColor: '#38BDF8', textColor: '#F8FAFC' } },
        { path: 'success', placementId: 'done', screenProps: { backgroundColor: '#ECFDF5', primaryColor: '#047857', textColor: '#064E3B' } },
        { path: 'success', placementId: 'quiet', isEmpty: true }],
    })).body;
    assert.ok(k.id, JSON.stringify(k));
    assert.equal((await A('POST', `/admin/apps/${app}/campaigns/${k.id}/go-live`)).status, 200);
    const P = (m, p, body) => call(fd.api, pub, m, p, body);
    const referrer = (await P('POST', '/customers/identify', { externalUserId: 'jane', email: 'jane@example.com', name: HOSTILE, environment: 'production' })).body;
    const invitee = (await P('POST', '/customers/identify', { externalUserId: 'sam', email: 'sam@example.org', name: 'Sam', environment: 'production' })).body;
    const other = (await P('POST', '/customers/identify', { externalUserId: 'kim', email: 'kim@example.net', name: 'Kim', environment: 'production' })).body;
    // The URL both SDKs build (Flock.swift:204-223, FlockSDK.kt:315-323).
    const placement = (id, cus, bgHex) => `${fd.api}/placements/${id}?key=${pub}&campaign_id=${k.id}&customer_id=${cus.id}` +
      (bgHex ? `&bg=${encodeURIComponent(bgHex)}` : '');

    await t.test('the referrer\u2019s share screen: code, link, invite, rewards; shared and close over the bridge', async () => {
      await useSdk('android');
      messages = [];
      await page.goto(placement('share', referrer, '#FEF3C7'));
      await ready();
      await page.locator('h1', { hasText: 'Invite your friends' }).waitFor();
      assert.equal(await page.locator('.code').innerText(), referrer.referralCode);
      const link = await page.locator('.code-box .link').innerText();
      assert.equal(link, `${fd.api}/referrals/${referrer.referralCode}?key=${pub}&campaign_id=${k.id}`);
      assert.equal(await page.locator('blockquote').innerText(), 'Get 20% off your first three months with my code');
      assert.deepEqual(await page.locator('.rewards li').allInnerTexts(), ['You get\n$10 by PayPal', 'Your friend gets\n20% off for 3 months']);
      // Theming: bg over backgroundColor, then screenProps.
      assert.equal(await bg('body'), 'rgb(254, 243, 199)');
      assert.equal(await bg('button.primary'), 'rgb(180, 83, 9)');
      assert.equal(await page.locator('body').evaluate((el) => getComputedStyle(el).color), 'rgb(28, 25, 23)');
      assert.match(await page.locator('body').evaluate((el) => getComputedStyle(el).fontFamily), /^Georgia, serif/);
      await scan('referrer');
      await shot('referrer');
      // The smallest phones in use (320 CSS pixels wide) fit it too.
      await page.setViewportSize({ width: 320, height: 568 });
      await ready();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByRole('button', { name: 'Share' }).click();
      await page.getByRole('button', { name: 'Maybe later' }).click();
      const [shared, closed] = events();
      const text = `Get 20% off your first three months with my code ${referrer.referralCode} ${link}`;
      assert.deepEqual(shared, { event: 'shared', data: { title: text, text, url: link } });
      assert.deepEqual(closed, { event: 'close' });
      assert.equal(messages.length, 2);
    });

    await t.test('the same screen under the iOS SDK\u2019s bridge, and the \u00d7 closes it', async () => {
      await useSdk('ios');
      messages = [];
      await page.goto(placement('share', referrer));
      await ready();
      await page.getByRole('button', { name: 'Share' }).click();
      await page.getByRole('button', { name: 'Maybe later' }).click();
      await page.locator('button.close').click();
      assert.deepEqual(events().map((e) => e.event), ['shared', 'close', 'close']);
      // Without bg the page takes screenProps.backgroundColor itself.
      assert.equal(await bg('body'), 'rgb(254, 243, 199)');
    });

    await t.test('the invitee\u2019s code entry: an invalid code is refused and sends invalid', async () => {
      await useSdk('android');
      messages = [];
      await page.goto(placement('enter', invitee, '#0F172A'));
      await ready();
      await page.locator('h1', { hasText: 'Have a referral code?' }).waitFor();
      assert.equal(await bg('body'), 'rgb(15, 23, 42)');
      assert.equal(await bg('button.primary'), 'rgb(56, 189, 248)');
      assert.deepEqual(await page.locator('.rewards li').allInnerTexts(), ['You get\n20% off for 3 months']);
      await scan('invitee');
      await shot('invitee');
      await page.getByLabel('Referral code').fill('NOSUCH1');
      await page.getByRole('button', { name: 'Apply code' }).click();
      await page.getByText('That code is not valid. Check it and try again.').waitFor();
      assert.deepEqual(events(), [{ event: 'invalid' }]);
      assert.equal(await page.getByLabel('Referral code').getAttribute('aria-invalid'), 'true');
      await scan('invitee-invalid');
      await shot('invitee-invalid');
      // One's own code is no referral either.
      messages = [];
      await page.goto(placement('enter', referrer));
      await ready();
      await page.getByLabel('Referral code').fill(referrer.referralCode);
      await page.getByRole('button', { name: 'Apply code' }).click();
      await page.getByText('That is your own code').waitFor();
      assert.deepEqual(events(), [{ event: 'invalid' }]);
      const refs = (await W('GET', `/referrals?campaignId=${k.id}`)).body;
      assert.equal(refs.total, 0, 'a refused code made a referral');
    });

    await t.test('a valid code creates the referral, sends success and shows the referrer\u2019s name as text', async () => {
      messages = [];
      await page.goto(placement('enter', invitee, '#0F172A'));
      await ready();
      // Typed in lower case: codes are taken as the referrer has them.
      await page.getByLabel('Referral code').fill(referrer.referralCode.toLowerCase());
      await page.getByRole('button', { name: 'Apply code' }).click();
      await page.locator('h1', { hasText: 'You\u2019re in!' }).waitFor();
      assert.deepEqual(events(), [{ event: 'success' }]);
      const refs = (await W('GET', `/referrals?campaignId=${k.id}`)).body.data;
      assert.equal(refs.length, 1);
      assert.equal(refs[0].referrerId, referrer.id);
      assert.equal(refs[0].refereeId, invitee.id);
      assert.equal(refs[0].status, 'pending');
      assert.equal(await page.locator('.lead').innerText(), `${HOSTILE.trim()} invited you, and your referral code was accepted.`);
      assert.equal(await page.locator('main img').count(), 0, 'the name was parsed as HTML');
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
    });

    await t.test('the "referral succeeded" placement, as checkpoint("referral_succeeded").navigate() loads it', async () => {
      messages = [];
      await page.goto(placement('done', invitee, '#ECFDF5'));
      await ready();
      await page.locator('h1', { hasText: 'You\u2019re in!' }).waitFor();
      assert.match(await page.locator('.lead').innerText(), /invited you/);
      assert.equal(await page.locator('main img').count(), 0);
      assert.deepEqual(await page.locator('.rewards li').allInnerTexts(), ['You get\n20% off for 3 months']);
      assert.equal(await bg('.tick'), 'rgb(4, 120, 87)');
      await scan('success');
      await shot('success');
      await page.getByRole('button', { name: 'Done' }).click();
      assert.deepEqual(events(), [{ event: 'close' }]);
    });

    await t.test('the older SDKs: /pages/{path} and the navigate command', async () => {
      messages = [];
      // FlockSDK-Android 1.1.x openPage(context, "referrer") (FlockSDK.kt at 3d26e71:184-199).
      await page.goto(`${fd.api}/pages/referrer?key=${pub}&campaign_id=${k.id}&customer_id=${referrer.id}&bg=%23FEF3C7`);
      await ready();
      assert.equal(await page.locator('.code').innerText(), referrer.referralCode);
      // navigate("invitee?state=success"): window.postMessage(command, '*') (FlockWebViewActivity.kt at 739ac29:65-72).
      await Promise.all([page.waitForURL(/\/pages\/invitee\?.*state=success/), page.evaluate(() =>
        window.postMessage({ command: 'navigate', data: { pageType: 'invitee?state=success' } }, '*'))]);
      await ready();
      await page.locator('h1', { hasText: 'You\u2019re in!' }).waitFor();
      assert.ok(page.url().includes(`customer_id=${referrer.id}`));
      // iOS, July 2025 (WebViewController.swift at 5cd2772:131-145): a CustomEvent.
      await Promise.all([page.waitForURL(/\/placements\/enter\?/), page.evaluate(() =>
        window.dispatchEvent(new CustomEvent('flock_client_event', { detail: JSON.parse('{"command":"navigate","data":{"placementId":"enter"}}') })))]);
      await ready();
      await page.locator('h1', { hasText: 'Have a referral code?' }).waitFor();
      // iOS before that (WebViewController.swift at b96cb3e:130-141): window.postMessage(json).
      await Promise.all([page.waitForURL(/\/placements\/share\?/), page.evaluate(() =>
        window.postMessage({ command: 'navigate', data: { placementId: 'share' } }))]);
      await ready();
      await page.locator('.code').waitFor();
      // A placement id that is no id, or a path that is none, goes
      // nowhere: the Navigation API sees every navigation as it starts,
      // so a good command after them shows the bad ones started none.
      const started = await page.evaluate(() => {
        const urls = [];
        const seen = (e) => { urls.push(e.destination.url); e.preventDefault(); };
        const command = (data) => window.dispatchEvent(new CustomEvent('flock_client_event', { detail: { command: 'navigate', data } }));
        navigation.addEventListener('navigate', seen);
        command({ placementId: '../../admin' });
        command({ pageType: '../admin?state=x' });
        command({ placementId: 'enter' });
        navigation.removeEventListener('navigate', seen);
        return urls;
      });
      assert.equal(started.length, 1, started.join(' '));
      assert.match(started[0], /\/placements\/enter\?key=/);
      // An empty page: nothing but a way out.
      await page.goto(placement('quiet', invitee));
      await ready();
      assert.equal(await page.locator('main').innerText(), '\u00d7');
      await page.locator('button.close').click();
      assert.deepEqual(events(), [{ event: 'close' }]);
      // A placement the campaign does not have, or no key.
      await page.goto(placement('nosuch', invitee));
      await page.locator('h1', { hasText: 'Not available' }).waitFor();
      assert.match(await page.locator('.lead').innerText(), /does not exist/);
      await page.goto(`${fd.api}/placements/share?campaign_id=${k.id}`);
      await page.getByText('This link has no valid key.').waitFor();
    });

    await t.test('a referral landing page counts the visit and hands the code to the sign-up URL', async () => {
      const before = (await A('GET', `/admin/apps/${app}/customers/${referrer.id}`)).body.visitedReferralsCount;
      const funnel = async () => (await A('GET', `/admin/apps/${app}/analytics/funnel?environment=production`)).body.visits;
      // Two valid codes were checked above (one's own, then the good one):
      // the funnel's first visits.
      await waitFor('the funnel to count the codes checked', async () => (await funnel()) === 2);
      const visits = await funnel();
      await page.goto(`${fd.api}/referrals/${referrer.referralCode}?key=${pub}&campaign_id=${k.id}`);
      await page.waitForURL(`${rx.base}/ok?src=flock&ref=${referrer.referralCode}`);
      assert.ok(rx.got.some((g) => g.path === `/ok?src=flock&ref=${referrer.referralCode}`));
      assert.equal((await A('GET', `/admin/apps/${app}/customers/${referrer.id}`)).body.visitedReferralsCount, before + 1);
      // Visits reach the funnel with the writer's housekeeping (once a second).
      await waitFor('the funnel to count the landing page\u2019s visit', async () => (await funnel()) === visits + 1);
      // The ?ref= form, and a campaign with no sign-up URL: the page itself.
      const plain = (await A('POST', `/admin/apps/${app}/campaigns`, {
        name: 'Plain', environment: 'production', inviteMessage: 'Join me and save 20%',
        rewards: [{ type: 'discount', party: 'referee', discountAmount: 5, currency: 'usd' }],
        campaignPages: [{ path: 'invitee', screenProps: { backgroundColor: '#EEF2FF', primaryColor: '#4338CA', secondaryColor: '#6366F1', textColor: '#1E1B4B' } }],
      })).body;
      await page.goto(`${fd.api}/referrals?ref=${referrer.referralCode}&key=${pub}&campaign_id=${plain.id}`);
      await ready();
      assert.equal(await page.locator('h1').innerText(), `${HOSTILE.trim()} invited you`);
      assert.equal(await page.locator('main img').count(), 0);
      assert.equal(await page.locator('.code').innerText(), referrer.referralCode);
      assert.deepEqual(await page.locator('.rewards li').allInnerTexts(), ['You get\n$5 off']);
      await page.getByText('Use this code when you sign up.').waitFor();
      assert.equal(await bg('body'), 'rgb(238, 242, 255)');
      assert.equal(await page.locator('main').innerText().then((x) => x.includes('null')), false);
      assert.equal((await A('GET', `/admin/apps/${app}/customers/${referrer.id}`)).body.visitedReferralsCount, before + 2);
      await scan('landing');
      await shot('landing');
      await page.goto(`${fd.api}/referrals/NOSUCH9?key=${pub}`);
      await page.locator('h1', { hasText: 'This invitation link is not valid' }).waitFor();
      assert.equal((await W('GET', `/referrals?campaignId=${k.id}`)).body.total, 1);
      assert.equal(other.referralCode.length > 0, true);
    });

    await t.test('headers: a strict CSP, the pages\u2019 files built in, the API unchanged', async () => {
      const r = await fetch(placement('share', referrer));
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/html/);
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /script-src 'self';/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      const html = await r.text();
      assert.ok(!/<script>|<script [^>]*>[^<]/.test(html), 'inline script in the page');
      assert.ok(!/ on[a-z]+=/.test(html) && !/style=/.test(html), 'inline handlers or styles in the page');
      assert.equal((await fetch(placement('share', referrer), { headers: { 'If-None-Match': r.headers.get('etag') } })).status, 304);
      assert.equal((await fetch(`${fd.api}/hosted/pages.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal((await fetch(`${fd.api}/hosted/../flockd.db`)).status, 404);
      assert.equal((await fetch(`${fd.api}/placements/share`, { method: 'POST' })).status, 404);
      // With a key, GET /referrals is the API's list, as before.
      assert.equal((await W('GET', `/referrals?ref=${referrer.referralCode}`)).status, 200);
      // A page can do no more than its public key: not the service key's calls.
      assert.equal((await P('POST', '/checkpoints/ingest', { checkpointName: 'purchase_completed', externalUserId: 'sam', environment: 'production' })).status, 403);
    });

    await t.test('no CSP violation, no script error, nothing serious for axe on any screen', async () => {
      assert.deepEqual(violations, []);
      assert.deepEqual(pageErrors, []);
      const bad = Object.entries(a11y).filter(([, v]) => v.length).map(([n, v]) => `${n}: ${v.join(' | ')}`);
      assert.deepEqual(bad, []);
      assert.equal(Object.keys(a11y).length, 5);
    });
  } finally {
    await b.close();
    await rx.close();
    const code = await fd.stop();
    assert.equal(code, 0, `flockd stopped with ${code}: ${fd.log().slice(-3000)}`);
  }
});
