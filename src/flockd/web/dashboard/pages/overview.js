// Overview: the funnel, the daily series and the top referrers of the
// environment over a range of days (GET .../analytics/*).
import { state, api, appPath, qs, h, field, page, region, empty, table, money, today, link } from '../core.js';

const STAGES = [
  ['visits', 'Referral visits', 'Valid referral codes checked by invitees\u2019 apps'],
  ['referrals', 'Referrals', 'Invitees who signed up with a code'],
  ['accepted', 'Accepted', 'Referrals whose invitee reached a reward checkpoint'],
  ['rewards', 'Rewards granted', 'Rewards given to referrers and invitees'],
];

function pct(n, of) {
  return of > 0 ? `${Math.round((100 * n) / of)}% of the step before` : '';
}

function funnelView(f) {
  const counts = { ...f, rewards: f.rewards.granted };
  const cards = STAGES.map(([k, label, hint], i) => h('li', { class: 'stage' },
    h('span', { class: 'label' }, label),
    h('span', { class: 'count', 'data-stage': k }, String(counts[k])),
    h('span', { class: 'hint' }, k === 'rewards' ? (f.accepted ? `${(counts.rewards / f.accepted).toFixed(1)} per accepted referral` : hint)
      : i > 0 ? pct(counts[k], counts[STAGES[i - 1][0]]) : hint)));
  const amounts = f.rewards.amounts.length
    ? h('ul', { class: 'amounts' }, f.rewards.amounts.map((a) =>
      h('li', { 'data-currency': a.currency }, money(a.amount, a.currency))))
    : h('p', { class: 'hint' }, 'No money owed for this range (revoked and rejected rewards do not count).');
  return [
    h('ol', { class: 'funnel', 'aria-label': 'Funnel' }, cards),
    h('h3', {}, 'Rewards granted, by currency'), amounts,
    f.flagged ? h('p', { class: 'warn' }, `${f.flagged} referral(s) of this range wait for review. `,
      link('#/referrals', 'Open the review queue')) : null,
  ];
}

function chartView(d) {
  const days = d.days;
  const box = h('div', { class: 'chart', role: 'img',
    'aria-label': `Daily visits, referrals, accepted referrals and rewards from ${d.from} to ${d.to}; the table below has the numbers.` });
  const data = [
    days.map((x) => Date.parse(`${x.date}T00:00:00Z`) / 1000),
    days.map((x) => x.visits), days.map((x) => x.referrals),
    days.map((x) => x.accepted), days.map((x) => x.rewards),
  ];
  requestAnimationFrame(() => {
    const width = Math.max(320, box.clientWidth || 720);
    // eslint-disable-next-line no-undef
    new uPlot({
      width, height: 240, legend: { show: true },
      scales: { x: { time: true } },
      series: [{},
        { label: 'Visits', stroke: '#6d28d9', width: 2 },
        { label: 'Referrals', stroke: '#1d4ed8', width: 2 },
        { label: 'Accepted', stroke: '#047857', width: 2 },
        { label: 'Rewards', stroke: '#b45309', width: 2 }],
      axes: [{}, { label: 'per day' }],
    }, data, box);
  });
  const rows = days.filter((x) => x.visits || x.referrals || x.accepted || x.rewards);
  return [box, h('details', {}, h('summary', {}, 'Daily numbers as a table'),
    rows.length ? table('!Daily numbers', [
      { head: 'Day', cell: (r) => r.date },
      { head: 'Visits', cell: (r) => String(r.visits) },
      { head: 'Referrals', cell: (r) => String(r.referrals) },
      { head: 'Accepted', cell: (r) => String(r.accepted) },
      { head: 'Rewards', cell: (r) => String(r.rewards) },
      { head: 'Amounts', cell: (r) => Object.entries(r.amounts).map(([c, a]) => money(a, c)).join(', ') || '—' },
    ], rows) : h('p', {}, 'Nothing happened on any day of this range.'))];
}

function topView(t) {
  if (!t.data.length)
    return empty('No referrals in this range yet. Once customers share their codes and invitees sign up, the most successful referrers show here.');
  return table('!Top referrers', [
    { head: 'Referrer', cell: (r) => link(`#/customers/${encodeURIComponent(r.customerId)}`, r.name || r.email || r.externalUserId) },
    { head: 'Code', cell: (r) => r.referralCode },
    { head: 'Referrals', cell: (r) => String(r.referrals) },
    { head: 'Accepted', cell: (r) => String(r.accepted) },
    { head: 'Rewards earned', cell: (r) => String(r.rewards) },
  ], t.data);
}

export async function overview(main) {
  const range = { from: sessionStorage.getItem('flock.from') || today(-29), to: sessionStorage.getItem('flock.to') || today(0) };
  const from = h('input', { type: 'date', name: 'from', value: range.from, required: true });
  const to = h('input', { type: 'date', name: 'to', value: range.to, required: true });
  const funnel = h('section', { 'aria-labelledby': 'funnel-h' });
  const chart = h('section', { 'aria-labelledby': 'chart-h' });
  const top = h('section', { 'aria-labelledby': 'top-h' });
  const fRegion = h('div'), cRegion = h('div'), tRegion = h('div');
  funnel.append(h('h2', { id: 'funnel-h' }, 'Funnel'), fRegion);
  chart.append(h('h2', { id: 'chart-h' }, 'Day by day'), cRegion);
  top.append(h('h2', { id: 'top-h' }, 'Top referrers'), tRegion);
  const load = () => {
    const q = qs({ environment: state.env, from: from.value, to: to.value });
    region(fRegion, 'the funnel', async () => funnelView(await api('GET', appPath(`/analytics/funnel${q}`))));
    region(cRegion, 'the daily series', async () => chartView(await api('GET', appPath(`/analytics/daily${q}`))));
    region(tRegion, 'the top referrers', async () => topView(await api('GET', appPath(`/analytics/top-referrers${q}`))));
  };
  const form = h('form', { class: 'inline', onsubmit: (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('flock.from', from.value);
    sessionStorage.setItem('flock.to', to.value);
    load();
  } }, field('From', from), field('To', to), h('button', { type: 'submit' }, 'Show'));
  main.append(...page(`Overview · ${state.env}`), form, funnel, chart, top);
  load();
}
