// Webhooks: endpoints and their events; rotate a secret (shown once);
// the delivery log with every attempt; replay one delivery or all dead.
import { state, api, appPath, qs, h, field, select, page, region, empty, table, fmtTime, badge, action, confirmDo, toast, showSecret, link } from '../core.js';

const EVENTS = ['referral.created', 'referral.flagged', 'invitee.accepted', 'referral.rejected', 'reward.created',
  'reward.approved', 'reward.fulfilled', 'reward.revoked', 'customer.created', 'checkpoint.ingested'];

function eventsText(e) {
  return !e.events ? 'all events' : e.events.join(', ');
}

export async function webhooks(main) {
  const list = h('div');
  const url = h('input', { type: 'url', name: 'url', required: true, autocomplete: 'off', placeholder: 'https://example.com/webhooks/flock' });
  const desc = h('input', { name: 'description', autocomplete: 'off' });
  const env = select('environment', [['', 'both'], 'production', 'test'], '');
  const boxes = EVENTS.map((e) => h('input', { type: 'checkbox', value: e }));
  const load = () => region(list, 'the endpoints', async () => {
    const l = await api('GET', appPath('/webhook-endpoints?limit=100'));
    if (!l.data.length) return empty('No webhook endpoint yet. Add one to hear of referrals and rewards as they happen.');
    return table('!Webhook endpoints', [
      { head: 'URL', cell: (e) => link(`#/webhooks/${encodeURIComponent(e.id)}`, e.url) },
      { head: 'Events', cell: eventsText },
      { head: 'Environment', cell: (e) => e.environment || 'both' },
      { head: 'State', cell: (e) => (e.enabled ? badge('enabled', 'live') : badge(`disabled${e.disabledReason ? ` (${e.disabledReason})` : ''}`, 'offline')) },
    ], l.data);
  });
  const form = h('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    const events = boxes.filter((b) => b.checked).map((b) => b.value);
    try {
      const e = await api('POST', appPath('/webhook-endpoints'), {
        url: url.value, ...(events.length ? { events } : {}), ...(env.value ? { environment: env.value } : {}),
        ...(desc.value ? { description: desc.value } : {}),
      });
      // The form is cleared and the list shows the endpoint before the
      // secret does: nothing changes under the person once it is closed.
      url.value = '';
      desc.value = '';
      load();
      await showSecret(`Signing secret of ${e.url}`, e.secret);
    } catch (err) { toast(`Cannot add the endpoint: ${err.message}`); }
  } }, h('h2', {}, 'New endpoint'), field('URL', url), field('Description', desc), field('Environment', env),
  h('fieldset', {}, h('legend', {}, 'Events (none ticked: all but checkpoint.ingested)'),
    ...boxes.map((b) => h('label', { class: 'check' }, b, ` ${b.value}`))),
  h('button', { type: 'submit' }, 'Add endpoint'));
  main.append(...page('Webhooks'), list, form);
  load();
}

function attemptsView(l) {
  if (!l.data.length) return h('p', { class: 'hint' }, 'Not attempted yet.');
  return table('!Attempts', [
    { head: '#', cell: (a) => String(a.attempt) },
    { head: 'At', cell: (a) => fmtTime(a.at) },
    { head: 'Status', cell: (a) => (a.status === null ? 'no answer' : String(a.status)) },
    { head: 'Latency', cell: (a) => `${a.latencyMs} ms` },
    { head: 'Answer', cell: (a) => h('code', {}, a.responseExcerpt || '') },
    { head: 'Error', cell: (a) => a.error || '—' },
  ], l.data);
}

function deliveriesView(e, l, reload) {
  if (!l.data.length) return empty('No delivery matches: events the endpoint takes show here once they happen.');
  return table('!Deliveries', [
    { head: 'Event', cell: (d) => h('span', {}, d.eventName, h('br'), h('code', { class: 'hint' }, d.eventId)) },
    { head: 'State', cell: (d) => badge(d.state) },
    { head: 'Attempts', cell: (d) => String(d.attempts) },
    { head: 'Last', cell: (d) => (d.lastStatus ? String(d.lastStatus) : d.lastError || '—') },
    { head: 'Next attempt', cell: (d) => (d.state === 'pending' || d.state === 'retrying' ? fmtTime(d.nextAttemptAt) : '—') },
    { head: 'Log', cell: (d) => {
      const box = h('div');
      const det = h('details', { ontoggle: () => { if (det.open) region(box, 'the attempts', async () => attemptsView(await api('GET', appPath(`/webhook-endpoints/${encodeURIComponent(e.id)}/attempts${qs({ deliveryId: d.id, limit: 100 })}`)))); } },
        h('summary', {}, 'Attempts'), box);
      return det;
    } },
    { head: 'Replay', cell: (d) => (d.state === 'inflight' ? '—' : action('Replay', async () => {
      const r = await api('POST', appPath(`/webhook-endpoints/${encodeURIComponent(e.id)}/replay`), { deliveryId: d.id });
      toast(`${r.replayed} delivery replayed.`);
      reload();
    }, { class: 'small', 'aria-label': `Replay delivery of ${d.eventName} ${d.eventId}` })) },
  ], l.data);
}

export async function webhook(main, id) {
  const body = h('div');
  const path = appPath(`/webhook-endpoints/${encodeURIComponent(id)}`);
  main.append(...page('Webhook endpoint'), body);
  const stateFilter = select('state', [['', 'any'], 'pending', 'retrying', 'inflight', 'delivered', 'dead'], '');
  const reload = () => region(body, 'the endpoint', async () => {
    const e = await api('GET', path);
    document.getElementById('page-title').textContent = `Webhook ${e.url}`;
    const grace = h('input', { type: 'number', min: '0', max: '604800', value: '86400' });
    const deliveries = h('div');
    const loadDeliveries = () => region(deliveries, 'the deliveries', async () =>
      deliveriesView(e, await api('GET', `${path}/deliveries${qs({ state: stateFilter.value, limit: 100 })}`), loadDeliveries));
    stateFilter.onchange = loadDeliveries;
    loadDeliveries();
    return [
      h('dl', { class: 'facts' }, h('dt', {}, 'Id'), h('dd', {}, h('code', {}, e.id)), h('dt', {}, 'Events'), h('dd', {}, eventsText(e)),
        h('dt', {}, 'Environment'), h('dd', {}, e.environment || 'both'),
        h('dt', {}, 'State'), h('dd', {}, e.enabled ? 'enabled' : `disabled${e.disabledReason ? ` (${e.disabledReason})` : ''}`),
        h('dt', {}, 'Previous secret'), h('dd', {}, e.previousSecretExpiresAt ? `still signs until ${fmtTime(e.previousSecretExpiresAt)}` : 'none')),
      h('div', { class: 'actions' },
        action(e.enabled ? 'Disable' : 'Enable', async () => {
          await api('PATCH', path, { enabled: !e.enabled });
          reload();
        }, { class: 'quiet' }),
        action('Delete endpoint', async () => {
          if (!(await confirmDo(`Delete ${e.url}? Nothing more is delivered to it.`, 'Delete'))) return;
          await api('DELETE', path);
          location.hash = '#/webhooks';
        }, { class: 'danger' })),
      h('form', { class: 'card inline', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const r = await api('POST', `${path}/rotate-secret`, { graceSeconds: Number(grace.value || 0) });
          await showSecret(`New signing secret of ${e.url}`, r.secret);
          reload();
        } catch (err) { toast(`Cannot rotate: ${err.message}`); }
      } }, field('Old secret keeps signing for (seconds)', grace), h('button', { type: 'submit' }, 'Rotate secret')),
      h('h2', {}, 'Deliveries'),
      h('div', { class: 'inline' }, field('State', stateFilter),
        action('Replay all dead', async () => {
          const r = await api('POST', `${path}/replay`, {});
          toast(`${r.replayed} dead delivery(ies) replayed.`);
          loadDeliveries();
        }, { class: 'quiet' }),
        action('Refresh', async () => loadDeliveries(), { class: 'quiet' })),
      deliveries,
    ];
  });
  await reload();
}
