// The dashboard's core: the admin API through the session, DOM helpers
// that never parse HTML (every text goes in as textContent), and the
// states every page shows (loading, empty, error).
export const state = {
  csrf: null,          // in memory only; GET /dashboard/api/session again after a reload
  scope: null,         // {applicationId|null, organizationId}
  app: null,           // the application shown
  env: 'production',
  apps: [],
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.requestId = body && body.requestId;
  }
}

let onUnauthorized = () => {};
export function setUnauthorized(fn) { onUnauthorized = fn; }

async function call(url, method, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(url, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.status === 401 && !url.endsWith('/login')) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const session = {
  login: (token) => call('/dashboard/api/login', 'POST', { token }),
  get: () => call('/dashboard/api/session', 'GET'),
  logout: () => call('/dashboard/api/logout', 'POST', {}),
};

// The admin API, as the dashboard's port serves it with the session.
export function api(method, path, body) {
  return call('/dashboard/api/admin' + path, method, body);
}

// The current application's path.
export function appPath(rest) {
  return `/apps/${encodeURIComponent(state.app)}${rest}`;
}

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

// h('p', {class: 'x', onclick: f}, 'text', child...): an element. Strings
// become text nodes; attributes are set as attributes or properties, never
// as HTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
// A labelled control: the label names the input for screen readers.
export function field(label, input, hint) {
  const id = input.id || `f${++uid}`;
  input.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

export function select(name, options, value) {
  return h('select', { name },
    options.map((o) => {
      const [v, t] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, selected: v === value ? true : null }, t);
    }));
}

export function page(title, ...children) {
  return [h('h1', { tabindex: '-1', id: 'page-title' }, title), ...children];
}

export function loading(what) {
  return h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);
}

export function empty(text, ...more) {
  return h('div', { class: 'empty' }, h('p', {}, text), ...more);
}

export function errorBox(err, retry) {
  const msg = err instanceof ApiError
    ? `${err.message}${err.code ? ` (${err.code})` : ''}`
    : `Cannot reach flockd: ${err.message}`;
  return h('div', { class: 'error', role: 'alert' },
    h('p', {}, msg),
    err.requestId ? h('p', { class: 'hint' }, `Request ${err.requestId}`) : null,
    retry ? h('button', { type: 'button', onclick: retry }, 'Try again') : null);
}

// Replace a region's content: loading first, then what load() renders,
// or the error with a retry.
export async function region(el, what, load) {
  el.replaceChildren(loading(what));
  el.setAttribute('aria-busy', 'true');
  try {
    el.replaceChildren(...[await load()].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  } catch (e) {
    el.replaceChildren(errorBox(e, () => region(el, what, load)));
  } finally {
    el.removeAttribute('aria-busy');
  }
}

export function toast(text) {
  const t = document.getElementById('status');
  t.textContent = text;
  t.classList.add('on');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('on'), 6000);
}

export function showSecret(what, secret) {
  const d = document.getElementById('secret-dialog');
  document.getElementById('secret-what').textContent = what;
  const input = document.getElementById('secret-value');
  input.value = secret;
  d.showModal();
  input.focus();
  input.select();
  return new Promise((resolve) => d.addEventListener('close', () => {
    input.value = '';
    resolve();
  }, { once: true }));
}

export function confirmDo(text, yes = 'Yes') {
  const d = document.getElementById('confirm-dialog');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-yes').textContent = yes;
  d.returnValue = '';
  d.showModal();
  document.getElementById('confirm-no').focus();
  return new Promise((resolve) => d.addEventListener('close',
    () => resolve(d.returnValue === 'yes'), { once: true }));
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function money(amount, currency) {
  if (amount === undefined || amount === null || !currency) return '—';
  return `${Number(amount).toFixed(2)} ${currency.toUpperCase()}`;
}

// What a reward or campaign reward pays, in words.
export function rewardValue(r) {
  if (r.type === 'discount' && r.discountPercentage)
    return `${r.discountPercentage}% off${r.discountDurationInMonth ? ` for ${r.discountDurationInMonth} months` : ''}`;
  if (r.type === 'discount') return money(r.discountAmount, r.currency) + ' off';
  return money(r.payoutAmount, r.currency);
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || text}` }, text);
}

// A table from rows and columns [{head, cell: (row) => node|string}].
export function table(caption, cols, rows) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', { class: caption.startsWith('!') ? 'sr' : '' }, caption.replace(/^!/, '')),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.head)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, c.cell(r))))))));
}

// Run fn on a button's click with the button busy, reporting errors.
export function action(label, fn, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
    try { await fn(b); } catch (e) { toast(`${label}: ${e.message}`); }
    finally { b.disabled = false; b.removeAttribute('aria-busy'); }
  });
  return b;
}

export function link(href, text) {
  return h('a', { href }, text);
}

export function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return d.toISOString().slice(0, 10);
}

// Every page of a list (limit 100 each), for exports.
export async function allPages(path, params, onProgress) {
  const out = [];
  for (let offset = 0; ; offset += 100) {
    const p = await api('GET', path + qs({ ...params, limit: 100, offset }));
    out.push(...p.data);
    if (onProgress) onProgress(out.length, p.total);
    if (p.data.length < 100 || out.length >= p.total) return out;
  }
}
