// The Flock dashboard: a page per operator task, every one backed by the
// admin API (docs/dashboard.md). The admin token is typed once, sent in
// the login body, and kept by flockd in the session: never here.
import { state, session, api, h, field, page, errorBox, toast, setUnauthorized } from './core.js';
import { overview } from './pages/overview.js';
import { apps } from './pages/apps.js';
import { campaigns, campaign } from './pages/campaigns.js';
import { customers, customer } from './pages/customers.js';
import { referrals } from './pages/referrals.js';
import { rewards } from './pages/rewards.js';
import { webhooks, webhook } from './pages/webhooks.js';

const main = document.getElementById('main');

const routes = [
  [/^\/overview$/, overview],
  [/^\/apps$/, apps],
  [/^\/campaigns$/, campaigns],
  [/^\/campaigns\/(new|cmp_[\w-]+)$/, campaign],
  [/^\/customers$/, customers],
  [/^\/customers\/([\w-]+)$/, customer],
  [/^\/referrals$/, referrals],
  [/^\/rewards$/, rewards],
  [/^\/webhooks$/, webhooks],
  [/^\/webhooks\/([\w-]+)$/, webhook],
];

function chrome(on) {
  document.getElementById('top').hidden = !on;
  document.getElementById('nav').hidden = !on;
}

function loginView(message) {
  chrome(false);
  state.csrf = null;
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off',
    spellcheck: 'false', required: true });
  const err = h('div', { 'aria-live': 'assertive' },
    message ? h('p', { class: 'error', role: 'alert' }, message) : null);
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'login', onsubmit: async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    err.replaceChildren(h('p', { role: 'status' }, 'Logging in…'));
    try {
      const s = await session.login(input.value);
      input.value = '';
      await start(s);
    } catch (e) {
      input.value = '';
      err.replaceChildren(h('p', { class: 'error', role: 'alert' },
        e.status === 429 ? 'Too many attempts: wait a minute and try again.'
          : e.status === 401 ? 'This is not an admin token flockd knows.'
            : `Cannot log in: ${e.message}`));
      input.focus();
    } finally { button.disabled = false; }
  } },
  field('Admin token', input, 'The fat_... token `flockd init` printed, or one made for an application.'),
  err, button);
  main.replaceChildren(...page('Log in to the Flock dashboard'), form);
  input.focus();
}

async function loadApps() {
  const sel = document.getElementById('app-select');
  const list = await api('GET', '/apps?limit=100');
  state.apps = list.data;
  const saved = sessionStorage.getItem('flock.app');
  state.app = (state.apps.find((a) => a.id === saved) || state.apps[0] || {}).id || null;
  sel.replaceChildren(...state.apps.map((a) =>
    h('option', { value: a.id, selected: a.id === state.app ? true : null }, a.name)));
}

async function start(s) {
  state.csrf = s.csrfToken;
  state.scope = s.scope;
  state.env = sessionStorage.getItem('flock.env') || 'production';
  document.getElementById('env-select').value = state.env;
  await loadApps();
  chrome(true);
  if (!location.hash || location.hash === '#/' || location.hash === '#/login') location.hash = '#/overview';
  else render();
}

export async function render() {
  if (!state.csrf) return;
  const path = (location.hash || '#/overview').slice(1);
  for (const a of document.querySelectorAll('#nav a'))
    if (path.startsWith(a.getAttribute('href').slice(1))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  const hit = routes.map(([re, fn]) => [path.match(re), fn]).find(([m]) => m);
  main.replaceChildren();
  if (!state.app && !path.startsWith('/apps')) {
    main.replaceChildren(...page('No application'),
      h('p', {}, 'This token reaches no application yet.'), h('a', { href: '#/apps' }, 'Create one'));
    return;
  }
  if (!hit) {
    main.replaceChildren(...page('Not found'), h('p', {}, 'No such page.'), h('a', { href: '#/overview' }, 'Go to the overview'));
  } else {
    try {
      await hit[1](main, ...hit[0].slice(1));
    } catch (e) {
      main.append(errorBox(e, render));
    }
  }
  const title = document.getElementById('page-title');
  if (title) {
    document.title = `${title.textContent} · Flock dashboard`;
    title.focus();
  }
}

setUnauthorized(() => { if (state.csrf) loginView('Your session ended: log in again.'); });

document.getElementById('app-select').addEventListener('change', (ev) => {
  state.app = ev.target.value;
  sessionStorage.setItem('flock.app', state.app);
  render();
});
document.getElementById('env-select').addEventListener('change', (ev) => {
  state.env = ev.target.value;
  sessionStorage.setItem('flock.env', state.env);
  render();
});
document.getElementById('logout').addEventListener('click', async () => {
  try { await session.logout(); } catch (e) { /* the cookie is gone either way */ }
  location.hash = '#/login';
  loginView('You are logged out.');
});
document.getElementById('secret-close').addEventListener('click', () =>
  document.getElementById('secret-dialog').close());
document.getElementById('secret-copy').addEventListener('click', async () => {
  const v = document.getElementById('secret-value');
  try { await navigator.clipboard.writeText(v.value); toast('Copied.'); } catch (e) {
    v.select(); toast('Select the secret and copy it.');
  }
});
document.getElementById('confirm-yes').addEventListener('click', () =>
  document.getElementById('confirm-dialog').close('yes'));
document.getElementById('confirm-no').addEventListener('click', () =>
  document.getElementById('confirm-dialog').close(''));
window.addEventListener('hashchange', render);

session.get().then(start, () => loginView());
