// The review queue: flagged referrals with their fraud reasons; approve
// (its rewards are granted if the invitee already reached the checkpoint)
// or reject, one or many.
import { state, api, appPath, qs, h, page, region, empty, table, fmtTime, action, confirmDo, toast, link } from '../core.js';

const names = new Map();
async function who(id) {
  if (!names.has(id))
    names.set(id, api('GET', appPath(`/customers/${encodeURIComponent(id)}`)).then(
      (c) => c.name || c.email || c.externalUserId, () => id));
  return names.get(id);
}

function person(id) {
  const a = link(`#/customers/${encodeURIComponent(id)}`, id);
  who(id).then((n) => { a.textContent = n; });
  return a;
}

export async function referrals(main) {
  const body = h('div');
  const selected = new Set();
  const decide = async (ids, verb) => {
    let granted = 0, failed = 0;
    for (const id of ids) {
      try {
        const r = await api('POST', appPath(`/referrals/${encodeURIComponent(id)}/${verb}`));
        if (verb === 'approve') {
          for (const c of [r.referrerId, r.refereeId]) {
            const rw = await api('GET', appPath(`/rewards${qs({ customerId: c, environment: state.env, limit: 100 })}`));
            granted += rw.data.filter((x) => x.referralId === id).length;
          }
        }
      } catch (e) { failed++; }
    }
    const done = ids.length - failed;
    toast(`${done} referral(s) ${verb === 'approve' ? 'approved' : 'rejected'}${verb === 'approve' ? `, ${granted} reward(s) granted` : ''}${failed ? `; ${failed} failed` : ''}.`);
    selected.clear();
    load();
  };
  const load = () => region(body, 'the review queue', async () => {
    const l = await api('GET', appPath(`/referrals${qs({ status: 'flagged', environment: state.env, limit: 100 })}`));
    if (!l.data.length) return empty(`Nothing to review in ${state.env}: no referral is flagged.`);
    const all = h('input', { type: 'checkbox', 'aria-label': 'Select every referral', onchange: (ev) => {
      for (const b of body.querySelectorAll('input[data-ref]')) { b.checked = ev.target.checked; b.dispatchEvent(new Event('change')); }
    } });
    return [
      h('p', { class: 'hint' }, `${l.total} flagged referral(s). A flagged referral earns nothing until approved.`),
      h('div', { class: 'actions' }, h('label', { class: 'check' }, all, ' Select all'),
        action('Approve selected', async () => { if (selected.size && await confirmDo(`Approve ${selected.size} referral(s)?`, 'Approve')) await decide([...selected], 'approve'); }),
        action('Reject selected', async () => { if (selected.size && await confirmDo(`Reject ${selected.size} referral(s)? They will never earn anything.`, 'Reject')) await decide([...selected], 'reject'); }, { class: 'danger' })),
      table('!Flagged referrals', [
        { head: 'Select', cell: (r) => h('input', { type: 'checkbox', 'data-ref': r.id, 'aria-label': `Select referral ${r.id}`,
          onchange: (ev) => (ev.target.checked ? selected.add(r.id) : selected.delete(r.id)) }) },
        { head: 'Referrer', cell: (r) => person(r.referrerId) },
        { head: 'Invitee', cell: (r) => person(r.refereeId) },
        { head: 'Why flagged', cell: (r) => h('ul', { class: 'reasons' }, (r.suspectedFrauds || []).map((f) => h('li', {}, h('strong', {}, f.type), `: ${f.message}`))) },
        { head: 'Created', cell: (r) => fmtTime(r.createdAt) },
        { head: 'Decide', cell: (r) => h('div', { class: 'row-actions' },
          action('Approve', () => decide([r.id], 'approve'), { class: 'small', 'aria-label': `Approve referral ${r.id}` }),
          action('Reject', () => decide([r.id], 'reject'), { class: 'small danger', 'aria-label': `Reject referral ${r.id}` })) },
      ], l.data),
    ];
  });
  main.append(...page(`Review queue · ${state.env}`), body);
  load();
}
