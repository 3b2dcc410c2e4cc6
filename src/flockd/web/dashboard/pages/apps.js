// Applications and their keys: create (the secret shown once), revoke.
import { state, api, appPath, h, field, select, page, region, empty, table, fmtTime, badge, action, showSecret, confirmDo, toast } from '../core.js';
import { render } from '../app.js';

function keysView(list, reload) {
  if (!list.data.length) return empty('This application has no keys yet. Create a service key for your backend and a public key for your apps.');
  return table('!Keys', [
    { head: 'Kind', cell: (k) => k.kind },
    { head: 'Environment', cell: (k) => k.environment || 'both' },
    { head: 'Key', cell: (k) => h('code', {}, k.prefix) },
    { head: 'Created', cell: (k) => fmtTime(k.createdAt) },
    { head: 'Status', cell: (k) => (k.revokedAt ? badge('revoked') : badge('active')) },
    { head: 'Actions', cell: (k) => (k.revokedAt ? '—' : action('Revoke', async () => {
      if (!(await confirmDo(`Revoke ${k.kind} key ${k.prefix}? Everything using it stops working at once.`, 'Revoke'))) return;
      await api('POST', appPath(`/keys/${encodeURIComponent(k.id)}/revoke`));
      toast(`Key ${k.prefix} revoked.`);
      reload();
    }, { class: 'danger small', 'aria-label': `Revoke key ${k.prefix}` })) },
  ], list.data);
}

export async function apps(main) {
  const keys = h('div');
  const reload = () => region(keys, 'the keys', async () =>
    keysView(await api('GET', appPath('/keys?limit=100')), reload));
  const kind = select('kind', [['service', 'service (sk_: your backend)'], ['public', 'public (pk_: your apps)'], ['admin', 'admin (fat_: this application only)']], 'service');
  const env = select('environment', [['', 'both'], 'production', 'test'], '');
  const keyForm = h('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const k = await api('POST', appPath('/keys'), { kind: kind.value, ...(env.value ? { environment: env.value } : {}) });
      await showSecret(`New ${k.kind} key ${k.prefix}`, k.secret);
      reload();
    } catch (e) { toast(`Cannot create the key: ${e.message}`); }
  } }, h('h3', {}, 'New key'), field('Kind', kind), field('Environment', env), h('button', { type: 'submit' }, 'Create key'));

  const appName = h('input', { name: 'app-name', required: true, autocomplete: 'off' });
  const appForm = state.scope && state.scope.applicationId ? h('p', { class: 'hint' }, 'This token reaches one application: only an operator-wide admin token creates applications.')
    : h('form', { class: 'card', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const a = await api('POST', '/apps', { name: appName.value });
        toast(`Application ${a.name} created.`);
        sessionStorage.setItem('flock.app', a.id);
        location.reload();
      } catch (e) { toast(`Cannot create the application: ${e.message}`); }
    } }, h('h3', {}, 'New application'), field('Name', appName), h('button', { type: 'submit' }, 'Create application'));

  const current = state.apps.find((a) => a.id === state.app);
  main.append(...page('Applications and keys'),
    h('section', { 'aria-labelledby': 'apps-h' }, h('h2', { id: 'apps-h' }, 'Applications'),
      state.apps.length ? table('!Applications', [
        { head: 'Name', cell: (a) => a.name },
        { head: 'Id', cell: (a) => h('code', {}, a.id) },
        { head: 'Created', cell: (a) => fmtTime(a.createdAt) },
        { head: '', cell: (a) => (a.id === state.app ? badge('shown', 'live') : action(`Show ${a.name}`, async () => {
          state.app = a.id; sessionStorage.setItem('flock.app', a.id);
          document.getElementById('app-select').value = a.id; render();
        }, { class: 'small quiet' })) },
      ], state.apps) : empty('No application yet.'), appForm),
    current ? h('section', { 'aria-labelledby': 'keys-h' }, h('h2', { id: 'keys-h' }, `Keys of ${current.name}`), keys, keyForm) : null);
  if (current) reload();
}
