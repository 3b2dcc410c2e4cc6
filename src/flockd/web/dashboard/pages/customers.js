// Customers: search by external id, email or referral code; a customer's
// details with their referrals and rewards; erasing personal data.
import { state, api, appPath, qs, h, field, page, region, empty, table, fmtTime, badge, action, confirmDo, toast, rewardValue, link } from '../core.js';

function customerLink(c) {
  return link(`#/customers/${encodeURIComponent(c.id)}`, c.name || c.email || c.externalUserId || c.id);
}

export async function customers(main) {
  const q = h('input', { type: 'search', name: 'q', value: sessionStorage.getItem('flock.q') || '', autocomplete: 'off' });
  const results = h('div', { 'aria-live': 'polite' });
  const search = () => {
    sessionStorage.setItem('flock.q', q.value);
    region(results, 'customers', async () => {
      const l = await api('GET', appPath(`/customers${qs({ q: q.value.trim(), limit: 50 })}`));
      if (!l.data.length)
        return empty(q.value ? `No customer matches \u201c${q.value}\u201d.` : 'No customers yet: they appear when your backend identifies them.');
      return [h('p', { class: 'hint' }, q.value ? `${l.total} match(es)${l.total > l.data.length ? `, the first ${l.data.length} shown` : ''}.` : `${l.total} customers, newest first.`),
        table('!Customers', [
          { head: 'Customer', cell: customerLink },
          { head: 'External id', cell: (c) => c.externalUserId },
          { head: 'Email', cell: (c) => c.email || '—' },
          { head: 'Code', cell: (c) => h('code', {}, c.referralCode) },
          { head: 'Referred', cell: (c) => String(c.visitedReferralsCount) },
          { head: 'Created', cell: (c) => fmtTime(c.createdAt) },
        ], l.data)];
    });
  };
  const form = h('form', { role: 'search', class: 'inline', onsubmit: (ev) => { ev.preventDefault(); search(); } },
    field('Search customers', q, 'An external id, an email or a referral code (or how they begin), or a customer id'),
    h('button', { type: 'submit' }, 'Search'));
  main.append(...page('Customers'), form, results);
  search();
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

export async function customer(main, id) {
  const body = h('div');
  main.append(...page('Customer'), body);
  const reload = () => region(body, 'the customer', async () => {
    const c = await api('GET', appPath(`/customers/${encodeURIComponent(id)}`));
    document.getElementById('page-title').textContent = `Customer ${c.name || c.email || c.externalUserId}`;
    const [refs, rws] = await Promise.all([
      api('GET', appPath(`/referrals${qs({ customerId: id, environment: state.env, limit: 100 })}`)),
      api('GET', appPath(`/rewards${qs({ customerId: id, environment: state.env, limit: 100 })}`)),
    ]);
    return [
      c.deletedAt ? h('p', { class: 'warn' }, `Personal data erased ${fmtTime(c.deletedAt)}.`) : null,
      dl([['Id', h('code', {}, c.id)], ['External id', c.externalUserId], ['Email', c.email], ['Name', c.name],
        ['Referral code', h('code', {}, c.referralCode)],
        ['Referred by', c.referredBy ? link(`#/customers/${encodeURIComponent(c.referredBy.id)}`, c.referredBy.name || c.referredBy.email || c.referredBy.externalUserId) : null],
        ['Referrals made', String(c.visitedReferralsCount)], ['Referrals converted', String(c.convertedReferralsCount)],
        ['Custom properties', Object.keys(c.customProperties || {}).length ? JSON.stringify(c.customProperties) : null],
        ['Created', fmtTime(c.createdAt)]]),
      c.deletedAt ? null : action('Erase personal data', async () => {
        if (!(await confirmDo('Erase this customer\u2019s email, name and custom properties? Referrals and rewards stay. This cannot be undone.', 'Erase'))) return;
        await api('DELETE', appPath(`/customers/${encodeURIComponent(id)}`));
        toast('Personal data erased.');
        reload();
      }, { class: 'danger' }),
      h('h2', {}, `Referrals (${state.env})`),
      refs.data.length ? table('!Referrals', [
        { head: 'Referral', cell: (r) => h('code', {}, r.id) },
        { head: 'Role', cell: (r) => (r.referrerId === id ? 'referrer' : 'invitee') },
        { head: 'Other party', cell: (r) => { const o = r.referrerId === id ? r.refereeId : r.referrerId; return link(`#/customers/${encodeURIComponent(o)}`, o); } },
        { head: 'Status', cell: (r) => badge(r.status) },
        { head: 'Created', cell: (r) => fmtTime(r.createdAt) },
      ], refs.data) : empty('No referrals in this environment.'),
      h('h2', {}, `Rewards (${state.env})`),
      rws.data.length ? table('!Rewards', [
        { head: 'Reward', cell: (r) => h('code', {}, r.id) },
        { head: 'Party', cell: (r) => r.party },
        { head: 'Value', cell: rewardValue },
        { head: 'Status', cell: (r) => badge(r.status) },
        { head: 'Available', cell: (r) => fmtTime(r.availableAt) },
      ], rws.data) : empty('No rewards in this environment.'),
    ];
  });
  await reload();
}
