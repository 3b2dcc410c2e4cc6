// Flock's hosted pages, as flockd serves them (docs/mobile-sdks.md).
// One small module, no framework: it reads its URL, asks flockd's wire
// API (same origin, the public key of `key`) what to show, and builds the
// screen with textContent only: nothing it shows is ever parsed as HTML.
import { send, isIOS, bridge, onCommand } from './bridge.js';

const main = document.getElementById('main');
const url = new URL(location.href);

// Android writes "null" for an id it does not have (FlockSDK.kt:319).
function param(name) {
  const v = url.searchParams.get(name);
  return v && v !== 'null' && v !== 'undefined' ? v : null;
}

const key = param('key');

// ---- the DOM -----------------------------------------------------------

function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function show(title, ...nodes) {
  document.title = title;
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  main.removeAttribute('aria-busy');
}

function closeButton() {
  return h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: close }, '\u00d7');
}

function close() {
  if (!send('close') && history.length > 1) history.back();
}

// ---- theming -----------------------------------------------------------

const HEX = /^#[0-9a-fA-F]{6}$/;

function luminance(hex) {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

// screenProps, and the SDK's bg (the web view's own background) over its
// backgroundColor. Old iOS SDKs put bg unencoded: "#ffffff" became the
// URL's fragment (Flock.swift at 90e6858:284).
function theme(props) {
  const p = props || {};
  const root = document.documentElement.style;
  let bg = param('bg');
  if (!bg && /^#[0-9a-fA-F]{6}$/.test(location.hash)) bg = location.hash;
  const set = (name, v) => { if (v && HEX.test(v)) root.setProperty(name, v); };
  set('--bg', HEX.test(bg || '') ? bg : p.backgroundColor);
  set('--text', p.textColor);
  set('--primary', p.primaryColor);
  set('--secondary', p.secondaryColor || p.primaryColor);
  if (p.primaryColor && HEX.test(p.primaryColor)) {
    root.setProperty('--on-primary', luminance(p.primaryColor) > 0.35 ? '#111111' : '#ffffff');
  }
  if (p.fontFamily && /^[A-Za-z0-9 ,'"_.-]{1,128}$/.test(p.fontFamily)) {
    root.setProperty('--font', `${p.fontFamily}, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`);
  }
}

// ---- rewards in words --------------------------------------------------

const METHODS = {
  paypal: 'by PayPal', amazon_gift_card: 'as an Amazon gift card', visa_gift_card: 'as a Visa gift card',
  mobile_coupon: 'as a mobile coupon', venmo: 'by Venmo',
};

function money(v, currency) {
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency', currency: (currency || 'usd').toUpperCase(),
      minimumFractionDigits: Number.isInteger(v) ? 0 : 2,
    }).format(v);
  } catch (e) { return `${v} ${(currency || '').toUpperCase()}`.trim(); }
}

function months(n) {
  return n ? ` for ${n} month${n === 1 ? '' : 's'}` : '';
}

export function rewardWords(r) {
  if (r.type === 'discount' && r.discountPercentage) return `${r.discountPercentage}% off${months(r.discountDurationInMonth)}`;
  if (r.type === 'discount' && r.discountAmount) return `${money(r.discountAmount, r.currency)} off${months(r.discountDurationInMonth)}`;
  if (r.payoutAmount) return `${money(r.payoutAmount, r.currency)} ${METHODS[r.method] || ''}`.trim();
  return r.name || r.description || '';
}

function rewardsOf(campaign, party) {
  const words = (campaign.rewards || []).filter((r) => r.party === party).map(rewardWords).filter(Boolean);
  return words.length ? words.join(' and ') : null;
}

// ---- the API -----------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `flockd answered ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method, headers: { Authorization: key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined, cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, { message: 'flockd cannot be reached', code: 'network' });
  }
  let json = null;
  try { json = await res.json(); } catch (e) { json = null; }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

// ---- screens -----------------------------------------------------------

function rewardList(campaign, parties) {
  const items = parties.map(([party, who]) => [who, rewardsOf(campaign, party)]).filter(([, w]) => w);
  if (!items.length) return null;
  return h('ul', { class: 'rewards' }, items.map(([who, w]) => h('li', {}, h('span', { class: 'who' }, who), h('span', { class: 'what' }, w))));
}

function shareLink(ctx) {
  const q = new URLSearchParams({ key });
  q.set('campaign_id', ctx.campaign.id);
  return `${location.origin}/referrals/${encodeURIComponent(ctx.customer.referralCode)}?${q}`;
}

function referrerScreen(ctx) {
  const { page, campaign, customer } = ctx;
  const title = (page && page.title) || 'Invite your friends';
  if (!customer) {
    return show(title, h('h1', {}, title),
      h('p', {}, 'Sign in to the app to get your referral code.'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: close }, 'Close')));
  }
  const link = shareLink(ctx);
  const message = campaign.inviteMessage || 'Join me with my referral code';
  const text = `${message} ${customer.referralCode} ${link}`;
  const status = h('p', { class: 'status', role: 'status' });
  const share = async () => {
    send('shared', { title: text, text, url: link });
    // The iOS SDK has no share sheet for "shared"; a browser has no bridge.
    if (!bridge() || isIOS()) {
      try {
        if (navigator.share) await navigator.share({ text });
        else if (navigator.clipboard) {
          await navigator.clipboard.writeText(text);
          status.textContent = 'Copied: paste it to a friend.';
        }
      } catch (e) { /* the person closed the share sheet */ }
    }
  };
  show(title, closeButton(),
    h('h1', {}, title),
    h('p', { class: 'lead' }, (page && page.body) || 'Share your code. When a friend joins with it, you both get a reward.'),
    rewardList(campaign, [['referrer', 'You get'], ['referee', 'Your friend gets']]),
    h('div', { class: 'code-box' },
      h('span', { class: 'label', id: 'code-label' }, 'Your code'),
      h('span', { class: 'code', 'aria-labelledby': 'code-label' }, customer.referralCode),
      h('span', { class: 'link' }, link)),
    h('figure', { class: 'invite' }, h('figcaption', {}, 'Your invite'), h('blockquote', {}, message)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', onclick: share }, (page && page.buttonText) || 'Share'),
      h('button', { type: 'button', class: 'secondary', onclick: close }, 'Maybe later')),
    status, terms(campaign));
}

function inviteeScreen(ctx) {
  const { page, campaign, customer } = ctx;
  const title = (page && page.title) || 'Have a referral code?';
  const input = h('input', {
    id: 'code', name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    maxlength: '64', enterkeyhint: 'done', 'aria-describedby': 'code-error',
  });
  const error = h('p', { class: 'error', id: 'code-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, (page && page.buttonText) || 'Apply code');
  const refuse = (text) => {
    error.textContent = text;
    input.setAttribute('aria-invalid', 'true');
    send('invalid');
  };
  const apply = async (ev) => {
    ev.preventDefault();
    const typed = input.value.trim();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    if (!typed) { error.textContent = 'Enter the code a friend gave you.'; input.focus(); return; }
    submit.disabled = true;
    try {
      // As typed, then in capitals (flockd makes codes in capitals; the
      // field only shows them so).
      let code = typed;
      const check = (c) => api('POST', '/referrals/validate-code', { referralCode: c, environment: campaign.environment });
      let v = await check(code);
      if (!v.isValid && typed.toUpperCase() !== typed) v = await check((code = typed.toUpperCase()));
      if (!v.isValid) return refuse('That code is not valid. Check it and try again.');
      if (!customer) return refuse('Open this page from the app to use a code.');
      if (v.referredBy && v.referredBy.id === customer.id) return refuse('That is your own code: ask a friend for theirs.');
      await api('POST', '/referrals', { campaignId: campaign.id, referralCode: code, refereeId: customer.id });
      send('success');
      successScreen({ ...ctx, page: null }, v.referredBy && v.referredBy.name);
    } catch (e) {
      if (e.code === 'invalid_referral_code') refuse('That code is not valid. Check it and try again.');
      else if (e.code === 'already_referred') refuse('You were already referred by someone else.');
      else { error.textContent = `That did not work (${e.message}). Try again.`; }
    } finally { submit.disabled = false; }
  };
  show(title, closeButton(),
    h('h1', {}, title),
    h('p', { class: 'lead' }, (page && page.body) || 'Enter the code a friend shared with you.'),
    rewardList(campaign, [['referee', 'You get']]),
    h('form', { class: 'code-form', onsubmit: apply, novalidate: true },
      h('label', { for: 'code' }, 'Referral code'), input, error,
      h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'secondary', onclick: close }, 'Skip'))),
    terms(campaign));
}

function successScreen(ctx, referrerName) {
  const { page, campaign, customer } = ctx;
  const title = (page && page.title) || 'You\u2019re in!';
  const by = referrerName || (customer && customer.referredBy && customer.referredBy.name);
  show(title, closeButton(),
    h('div', { class: 'tick', 'aria-hidden': 'true' }),
    h('h1', {}, title),
    h('p', { class: 'lead' }, (page && page.body) || (by ? `${by} invited you, and your referral code was accepted.` : 'Your referral code was accepted.')),
    rewardList(campaign, [['referee', 'You get']]),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: close }, (page && page.buttonText) || 'Done')),
    terms(campaign));
}

function emptyScreen() {
  show('Flock', closeButton());
}

function terms(campaign) {
  const u = campaign && campaign.termsUrl;
  if (!u || !/^https?:\/\//i.test(u)) return null;
  return h('p', { class: 'terms' }, h('a', { href: u, target: '_blank', rel: 'noopener' }, 'Terms'));
}

function errorScreen(e) {
  const text = {
    unauthorized: 'This link has no valid key.', forbidden: 'This link\u2019s key may not open this page.',
    no_live_campaign: 'There is no campaign running right now.', page_not_found: 'This page does not exist.',
    customer_not_found: 'Your account was not found.', network: 'flockd cannot be reached. Check your connection.',
  }[e.code] || 'This page cannot be shown right now.';
  show('Not available', h('h1', {}, 'Not available'), h('p', { class: 'lead' }, text),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: close }, 'Close')));
}

// ---- a placement, or the older /pages/{path} ---------------------------

const SCREENS = { referrer: referrerScreen, invitee: inviteeScreen, success: successScreen };

async function placement(kind, name) {
  if (!key) return errorScreen({ code: 'unauthorized' });
  const q = new URLSearchParams();
  q.set(kind === 'placements' ? 'placementId' : 'path', name);
  if (param('campaign_id')) q.set('campaignId', param('campaign_id'));
  if (param('customer_id')) q.set('customerId', param('customer_id'));
  let ctx;
  try { ctx = await api('GET', `/page-context?${q}`); } catch (e) { theme(null); return errorScreen(e); }
  theme(ctx.page && ctx.page.screenProps);
  if (ctx.page && ctx.page.isEmpty) return emptyScreen();
  // The older SDKs' success state of the invitee page: its theme, the
  // success screen's own words.
  if (kind === 'pages' && param('state') === 'success') return successScreen({ ...ctx, page: null });
  return (SCREENS[ctx.screen] || errorScreen)(ctx);
}

// The older SDKs' navigate command: the same page for another placement.
function navigate(data) {
  const q = new URLSearchParams();
  for (const n of ['key', 'campaign_id', 'customer_id']) if (url.searchParams.get(n)) q.set(n, url.searchParams.get(n));
  let path;
  if (typeof data.placementId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(data.placementId)) {
    path = `/placements/${data.placementId}`;
  } else if (typeof data.pageType === 'string') {
    const [p, extra] = data.pageType.split('?');
    if (!/^[a-z]{1,32}$/.test(p)) return;
    path = `/pages/${p}`;
    for (const [k, v] of new URLSearchParams(extra || '')) if (k === 'state') q.set(k, v);
  } else return;
  location.assign(`${path}?${q}`);
}

// ---- a referral landing page -------------------------------------------

async function landing(code) {
  if (!code) return show('Invitation', h('h1', {}, 'This invitation link is incomplete'));
  if (!key) return show('Invitation', h('h1', {}, 'This invitation link is incomplete'),
    h('p', { class: 'lead' }, `Your friend\u2019s code is ${code}: use it when you sign up.`));
  let v;
  try {
    v = await api('POST', '/referrals/visit', { referralCode: code, ...(param('campaign_id') ? { campaignId: param('campaign_id') } : {}) });
  } catch (e) {
    return show('Invitation', h('h1', {}, 'This invitation cannot be opened right now'),
      h('p', { class: 'lead' }, `Your friend\u2019s code is ${code}: use it when you sign up.`));
  }
  if (!v.isValid) {
    return show('Invitation', h('h1', {}, 'This invitation link is not valid'),
      h('p', { class: 'lead' }, 'Ask your friend to send it again.'));
  }
  const name = v.referrer && v.referrer.name;
  const title = name ? `${name} invited you` : 'You\u2019re invited';
  const campaign = v.campaign || { rewards: [] };
  theme(v.screenProps);
  const next = v.landingUrl && /^https?:\/\//i.test(v.landingUrl) ? v.landingUrl : null;
  show(title, h('h1', {}, title),
    campaign.inviteMessage ? h('p', { class: 'lead' }, campaign.inviteMessage) : null,
    rewardList(campaign, [['referee', 'You get']]),
    h('div', { class: 'code-box' }, h('span', { class: 'label', id: 'code-label' }, 'Your friend\u2019s code'),
      h('span', { class: 'code', 'aria-labelledby': 'code-label' }, v.referralCode)),
    next ? h('p', { class: 'status', role: 'status' }, 'Taking you to sign up\u2026') : h('p', {}, 'Use this code when you sign up.'),
    next ? h('div', { class: 'actions' }, h('a', { class: 'button primary', href: next }, 'Continue')) : null,
    terms(campaign));
  // Handed on at once; the page stays behind the link if that fails.
  if (next) location.replace(next);
}

// ---- where we are ------------------------------------------------------

onCommand(navigate);
const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
if (parts[0] === 'placements' || parts[0] === 'pages') placement(parts[0], parts[1]);
else if (parts[0] === 'referrals') landing(parts[1] || param('ref'));
else errorScreen({ code: 'page_not_found' });
