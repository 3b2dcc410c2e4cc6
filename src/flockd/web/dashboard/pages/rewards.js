// Rewards: filter by status, campaign and customer; approve, fulfil,
// revoke; export what the filter shows as CSV.
import { state, api, appPath, qs, h, field, select, page, region, empty, table, fmtTime, badge, action, toast, rewardValue, link, allPages } from '../core.js';

const PAGE = 50;

// A CSV cell: quoted, and a leading = + - @ made inert for spreadsheets.
function cell(v) {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

const COLUMNS = ['id', 'status', 'party', 'customerId', 'referralId', 'campaignId', 'type', 'method', 'payoutAmount', 'discountAmount', 'discountPercentage', 'currency', 'availableAt', 'createdAt', 'environment'];

export function toCsv(rows) {
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

function moves(r, reload) {
  const go = (verb, label) => action(label, async () => {
    await api('POST', appPath(`/rewards/${encodeURIComponent(r.id)}/${verb}`));
    toast(`Reward ${r.id} ${{ approve: 'approved', fulfil: 'fulfilled', revoke: 'revoked' }[verb]}.`);
    reload();
  }, { class: `small${verb === 'revoke' ? ' danger' : ''}`, 'aria-label': `${label} reward ${r.id}` });
  return h('div', { class: 'row-actions' },
    r.status === 'pending' ? go('approve', 'Approve') : null,
    r.status === 'approved' ? go('fulfil', 'Fulfil') : null,
    r.status === 'pending' || r.status === 'approved' ? go('revoke', 'Revoke') : null);
}

export async function rewards(main) {
  const f = JSON.parse(sessionStorage.getItem('flock.rewards') || '{}');
  const status = select('status', [['', 'any'], 'pending', 'approved', 'fulfilled', 'revoked', 'rejected'], f.status || '');
  const campaign = select('campaignId', [['', 'any']], '');
  const customer = h('input', { name: 'customerId', value: f.customerId || '', autocomplete: 'off' });
  let offset = 0;
  const body = h('div');
  const filters = () => ({ status: status.value, campaignId: campaign.value, customerId: customer.value.trim(), environment: state.env });
  const load = () => region(body, 'the rewards', async () => {
    const l = await api('GET', appPath(`/rewards${qs({ ...filters(), limit: PAGE, offset })}`));
    if (!l.data.length) return empty(offset ? 'No more rewards.' : 'No reward matches these filters. Rewards appear when referrals reach a reward checkpoint.');
    return [
      h('p', { class: 'hint' }, `${offset + 1}\u2013${offset + l.data.length} of ${l.total}`),
      table('!Rewards', [
        { head: 'Reward', cell: (r) => h('code', {}, r.id) },
        { head: 'Customer', cell: (r) => link(`#/customers/${encodeURIComponent(r.customerId)}`, r.customerId) },
        { head: 'Party', cell: (r) => r.party },
        { head: 'Value', cell: rewardValue },
        { head: 'Status', cell: (r) => badge(r.status) },
        { head: 'Available', cell: (r) => fmtTime(r.availableAt) },
        { head: 'Actions', cell: (r) => moves(r, load) },
      ], l.data),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'quiet', disabled: offset === 0 ? true : null, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, 'Previous'),
        h('button', { type: 'button', class: 'quiet', disabled: offset + l.data.length >= l.total ? true : null, onclick: () => { offset += PAGE; load(); } }, 'Next')),
    ];
  });
  const exportButton = action('Export CSV', async (b) => {
    const rows = await allPages(appPath('/rewards'), filters(), (n, total) => { b.textContent = `Exporting ${n} of ${total}…`; });
    b.textContent = 'Export CSV';
    const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `rewards-${state.env}-${new Date().toISOString().slice(0, 10)}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    toast(`${rows.length} reward(s) exported.`);
  }, { class: 'quiet' });
  const form = h('form', { class: 'inline', onsubmit: (ev) => {
    ev.preventDefault();
    offset = 0;
    sessionStorage.setItem('flock.rewards', JSON.stringify({ status: status.value, customerId: customer.value }));
    load();
  } }, field('Status', status), field('Campaign', campaign), field('Customer id', customer), h('button', { type: 'submit' }, 'Filter'), exportButton);
  main.append(...page(`Rewards · ${state.env}`), form, body);
  try {
    const ks = await api('GET', appPath(`/campaigns?environment=${state.env}`));
    for (const k of ks.data) campaign.append(h('option', { value: k.id }, k.name));
  } catch (e) { /* the filter works without names */ }
  load();
}
