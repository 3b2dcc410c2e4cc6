// Campaigns: the list, and a form to create or edit one with its rewards
// and checkpoints, its invite message, pages and theme; go live, take
// offline, copy between environments.
import { state, api, appPath, h, field, select, page, region, empty, table, fmtTime, badge, action, confirmDo, toast, rewardValue, link } from '../core.js';

const METHODS = ['paypal', 'amazon_gift_card', 'visa_gift_card', 'mobile_coupon', 'venmo', 'custom'];
const INTERVALS = [['', 'no limit'], 'day', 'week', 'month', 'year', 'lifetime'];

export async function campaigns(main) {
  const list = h('div');
  main.append(...page(`Campaigns · ${state.env}`),
    h('p', {}, h('a', { href: '#/campaigns/new', class: 'button' }, 'New campaign')), list);
  await region(list, 'the campaigns', async () => {
    const l = await api('GET', appPath(`/campaigns?environment=${state.env}`));
    if (!l.data.length) return empty(`No campaign in ${state.env} yet. A campaign says what a referral pays and which checkpoint pays it.`);
    return table('!Campaigns', [
      { head: 'Name', cell: (k) => link(`#/campaigns/${encodeURIComponent(k.id)}`, k.name) },
      { head: 'Status', cell: (k) => (k.isLive ? badge('live') : badge('offline')) },
      { head: 'Rewards', cell: (k) => k.rewards.map((r) => `${r.party}: ${rewardValue(r)}`).join('; ') || 'none' },
      { head: 'Hold', cell: (k) => `${k.rewardHoldDays || 0} days` },
      { head: 'Created', cell: (k) => fmtTime(k.createdAt) },
    ], l.data);
  });
}

// ---- a reward's and a checkpoint's fields ------------------------------

function rewardFields(r = {}) {
  const f = {
    name: h('input', { value: r.name || '', autocomplete: 'off' }),
    party: select('party', [['referrer', 'referrer (shared the code)'], ['referee', 'invitee (used the code)']], r.party || 'referrer'),
    type: select('type', ['payout', 'discount'], r.type || 'payout'),
    method: select('method', METHODS, r.method || 'paypal'),
    amount: h('input', { type: 'number', min: '0', step: '0.01', value: r.payoutAmount ?? r.discountAmount ?? '' }),
    percent: h('input', { type: 'number', min: '0', max: '100', step: '1', value: r.discountPercentage ?? '' }),
    currency: select('currency', ['usd', 'cad'], r.currency || 'usd'),
    limit: h('input', { type: 'number', min: '0', step: '1', value: r.limit ?? '' }),
    interval: select('limitInterval', INTERVALS, r.limitInterval || ''),
  };
  f.body = () => {
    const b = { party: f.party.value, type: f.type.value, method: f.method.value, currency: f.currency.value };
    if (f.name.value) b.name = f.name.value;
    const amount = f.amount.value === '' ? null : Number(f.amount.value);
    if (b.type === 'payout') b.payoutAmount = amount;
    else if (f.percent.value !== '') b.discountPercentage = Number(f.percent.value);
    else b.discountAmount = amount;
    if (f.limit.value !== '' && f.interval.value) {
      b.limit = Number(f.limit.value); b.limitInterval = f.interval.value; b.limitUnit = 'reward';
    } else { b.limit = null; }
    return b;
  };
  f.view = (legend) => h('fieldset', { class: 'reward' }, h('legend', {}, legend),
    field('Party', f.party), field('Type', f.type), field('Method', f.method),
    field('Amount', f.amount, 'Payout, or a fixed discount'), field('Discount %', f.percent, 'Discounts only; leave empty for a fixed amount'),
    field('Currency', f.currency), field('Name', f.name),
    field('Limit', f.limit, 'Rewards per person'), field('Per', f.interval));
  return f;
}

function checkpointFields(c = {}) {
  const f = {
    name: h('input', { value: c.checkpointName || '', autocomplete: 'off', required: true }),
    trigger: select('trigger', [['reward', 'reward: pays the campaign\u2019s rewards'], ['placement', 'placement: the app shows a screen']], c.trigger || 'reward'),
    placement: h('input', { value: c.placementId || '', autocomplete: 'off' }),
  };
  f.body = () => ({ checkpointName: f.name.value, trigger: f.trigger.value, placementId: f.placement.value || null });
  f.view = (legend) => h('fieldset', { class: 'checkpoint' }, h('legend', {}, legend),
    field('Checkpoint name', f.name, 'As your backend ingests it, e.g. purchase_completed'),
    field('Trigger', f.trigger), field('Placement id', f.placement, 'Placements only'));
  return f;
}

// ---- the campaign's own fields -------------------------------------------

function toLocal(iso) { return iso ? iso.slice(0, 16) : ''; }
function fromLocal(v) { return v ? new Date(`${v}:00Z`).toISOString() : null; }

// The campaign pages Flock's mobile SDKs open (docs/mobile-sdks.md): the
// first page of each screen is edited here, with one theme for the three;
// any other page (more placements of a screen, set through the admin
// API) is kept as it is.
const SCREENS = [['referrer', 'Referrer page'], ['invitee', 'Invitee page'], ['success', 'Success page']];

function pageOf(k, path) {
  return (k.campaignPages || []).find((p) => p && p.path === path) || null;
}

function pageFields(k) {
  const first = SCREENS.map(([path]) => pageOf(k, path));
  const theme = (first.find((p) => p && p.screenProps) || {}).screenProps || {};
  const f = { pages: {} };
  for (const [path, label] of SCREENS) {
    const p = pageOf(k, path) || {};
    f.pages[path] = {
      label,
      placement: h('input', { value: p.placementId && p.placementId !== p.id ? p.placementId : (p.id ? '' : path), autocomplete: 'off', spellcheck: 'false' }),
      title: h('input', { value: p.title || '' }),
      body: h('textarea', { rows: '2' }, p.body || ''),
      button: h('input', { value: p.buttonText || '' }),
    };
  }
  f.primary = h('input', { type: 'color', value: theme.primaryColor || '#1d4ed8' });
  f.secondary = h('input', { type: 'color', value: theme.secondaryColor || theme.primaryColor || '#1d4ed8' });
  f.background = h('input', { type: 'color', value: theme.backgroundColor || '#ffffff' });
  f.text = h('input', { type: 'color', value: theme.textColor || '#111827' });
  f.font = h('input', { value: theme.fontFamily || '', autocomplete: 'off', placeholder: 'system font' });
  f.body = () => {
    const screenProps = {
      backgroundColor: f.background.value, primaryColor: f.primary.value, secondaryColor: f.secondary.value,
      textColor: f.text.value, fontFamily: f.font.value.trim() || null,
    };
    const edited = SCREENS.map(([path], i) => {
      const old = first[i] || {}, e = f.pages[path];
      return {
        ...(old.id ? { id: old.id } : {}), path, placementId: e.placement.value.trim() || null,
        isEmpty: !!old.isEmpty, screenProps, title: e.title.value || null, body: e.body.value || null,
        buttonText: e.button.value || null,
      };
    });
    const others = (k.campaignPages || []).filter((p) => p && !first.includes(p));
    return [...edited, ...others];
  };
  f.view = () => h('fieldset', {}, h('legend', {}, 'Campaign pages and theme'),
    h('p', { class: 'hint' }, 'What Flock\u2019s mobile SDKs show for a placement checkpoint with this placement id. Empty texts: flockd\u2019s own.'),
    SCREENS.map(([path]) => {
      const e = f.pages[path];
      return h('div', { class: 'page-fields' }, h('h3', {}, e.label),
        field(`${e.label} placement id`, e.placement, 'Letters, digits, - and _'),
        field(`${e.label} title`, e.title), field(`${e.label} text`, e.body),
        field(`${e.label} button text`, e.button));
    }),
    h('div', { class: 'page-fields' }, h('h3', {}, 'Theme of the three pages'),
      field('Primary colour', f.primary), field('Secondary colour', f.secondary),
      field('Background colour', f.background), field('Text colour', f.text),
      field('Font', f.font, 'A font the phone has, e.g. Georgia, serif')));
  return f;
}

function campaignFields(k) {
  const pages = pageFields(k);
  const f = {
    name: h('input', { value: k.name || '', required: true, autocomplete: 'off' }),
    hold: h('input', { type: 'number', min: '0', max: '3650', value: k.rewardHoldDays ?? 0 }),
    starts: h('input', { type: 'datetime-local', value: toLocal(k.startsAt) }),
    ends: h('input', { type: 'datetime-local', value: toLocal(k.endsAt) }),
    invite: h('textarea', { rows: '3' }, k.inviteMessage || ''),
    landing: h('input', { type: 'url', value: k.refereeLandingPageUrl || '' }),
    terms: h('input', { type: 'url', value: k.termsUrl || '' }),
    mobile: h('input', { type: 'checkbox', checked: !k.platforms || k.platforms.includes('mobile') }),
    web: h('input', { type: 'checkbox', checked: !k.platforms || k.platforms.includes('web') }),
  };
  f.body = () => ({
    name: f.name.value, rewardHoldDays: Number(f.hold.value || 0),
    startsAt: fromLocal(f.starts.value), endsAt: fromLocal(f.ends.value),
    inviteMessage: f.invite.value || null, refereeLandingPageUrl: f.landing.value || null, termsUrl: f.terms.value || null,
    platforms: [f.mobile.checked && 'mobile', f.web.checked && 'web'].filter(Boolean),
    campaignPages: pages.body(),
  });
  f.view = () => [
    h('fieldset', {}, h('legend', {}, 'Campaign'),
      field('Name', f.name), field('Hold rewards for (days)', f.hold, 'Rewards stay pending this long, then become approved'),
      field('Starts (UTC)', f.starts, 'Empty: at once'), field('Ends (UTC)', f.ends, 'Empty: never'),
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Platforms'),
        h('label', { class: 'check' }, f.mobile, ' mobile'), h('label', { class: 'check' }, f.web, ' web'))),
    h('fieldset', {}, h('legend', {}, 'Invitation'),
      field('Invite message', f.invite, 'What a referrer sends with the code'),
      field('Invitee landing page URL', f.landing, 'Where flockd\u2019s referral link sends an invitee, with ?ref=CODE'),
      field('Terms URL', f.terms)),
    pages.view(),
  ];
  return f;
}

// ---- new campaign ---------------------------------------------------------

function newCampaign(main) {
  const env = select('environment', ['production', 'test'], state.env);
  const f = campaignFields({});
  const rewardList = h('div'), checkpointList = h('div');
  const rewards = [], checkpoints = [];
  const addReward = (party) => {
    const r = rewardFields({ party });
    rewards.push(r);
    rewardList.append(r.view(`Reward ${rewards.length}`));
  };
  const addCheckpoint = () => {
    const c = checkpointFields({});
    checkpoints.push(c);
    checkpointList.append(c.view(`Checkpoint ${checkpoints.length}`));
  };
  addReward('referrer');
  addReward('referee');
  addCheckpoint();
  const form = h('form', { class: 'campaign', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const k = await api('POST', appPath('/campaigns'), {
        ...f.body(), environment: env.value,
        rewards: rewards.map((r) => r.body()), checkpoints: checkpoints.map((c) => c.body()).filter((c) => c.checkpointName),
      });
      toast(`Campaign ${k.name} created (not live yet).`);
      location.hash = `#/campaigns/${k.id}`;
    } catch (e) { toast(`Cannot create the campaign: ${e.message}`); }
  } },
  field('Environment', env), ...f.view(),
  h('h2', {}, 'Rewards'), rewardList,
  h('button', { type: 'button', class: 'quiet', onclick: () => addReward('referrer') }, 'Add a reward'),
  h('h2', {}, 'Checkpoints'), checkpointList,
  h('button', { type: 'button', class: 'quiet', onclick: addCheckpoint }, 'Add a checkpoint'),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create campaign')));
  main.append(...page('New campaign'), form);
}

// ---- one campaign -----------------------------------------------------------

async function rewardsSection(k, reload) {
  const items = k.rewards.map((r) => {
    const f = rewardFields(r);
    return h('form', { class: 'item', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('PATCH', appPath(`/campaign-rewards/${encodeURIComponent(r.id)}`), f.body());
        toast('Reward saved.');
        reload();
      } catch (e) { toast(`Cannot save the reward: ${e.message}`); }
    } }, f.view(`${r.party === 'referee' ? 'Invitee' : 'Referrer'} reward: ${rewardValue(r)}`),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'small' }, 'Save reward'),
      action('Remove reward', async () => {
        if (!(await confirmDo('Remove this reward? Rewards already granted stay.', 'Remove'))) return;
        await api('DELETE', appPath(`/campaign-rewards/${encodeURIComponent(r.id)}`));
        reload();
      }, { class: 'danger small' })));
  });
  const add = rewardFields({ party: 'referrer' });
  const addForm = h('form', { class: 'item', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', appPath(`/campaigns/${encodeURIComponent(k.id)}/rewards`), add.body());
      toast('Reward added.');
      reload();
    } catch (e) { toast(`Cannot add the reward: ${e.message}`); }
  } }, add.view('New reward'), h('button', { type: 'submit', class: 'small' }, 'Add reward'));
  return [items.length ? items : empty('No reward: this campaign pays nothing yet.'), h('details', {}, h('summary', {}, 'Add a reward'), addForm)];
}

async function checkpointsSection(k, reload) {
  const list = await api('GET', appPath(`/campaigns/${encodeURIComponent(k.id)}/checkpoints`));
  const items = list.data.map((c) => {
    const f = checkpointFields(c);
    return h('form', { class: 'item', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('PATCH', appPath(`/checkpoints/${encodeURIComponent(c.id)}`), f.body());
        toast('Checkpoint saved.');
        reload();
      } catch (e) { toast(`Cannot save the checkpoint: ${e.message}`); }
    } }, f.view(`${c.checkpointName} (${c.trigger})`),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'small' }, 'Save checkpoint'),
      action('Remove checkpoint', async () => {
        if (!(await confirmDo(`Remove checkpoint ${c.checkpointName}?`, 'Remove'))) return;
        await api('DELETE', appPath(`/checkpoints/${encodeURIComponent(c.id)}`));
        reload();
      }, { class: 'danger small' })));
  });
  const add = checkpointFields({});
  const addForm = h('form', { class: 'item', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', appPath(`/campaigns/${encodeURIComponent(k.id)}/checkpoints`), add.body());
      toast('Checkpoint added.');
      reload();
    } catch (e) { toast(`Cannot add the checkpoint: ${e.message}`); }
  } }, add.view('New checkpoint'), h('button', { type: 'submit', class: 'small' }, 'Add checkpoint'));
  return [items.length ? items : empty('No checkpoint: nothing your backend ingests pays this campaign\u2019s rewards yet.'),
    h('details', {}, h('summary', {}, 'Add a checkpoint'), addForm)];
}

function liveActions(k, reload) {
  const other = k.environment === 'test' ? 'production' : 'test';
  return h('div', { class: 'actions' },
    k.isLive
      ? action('Take offline', async () => {
        if (!(await confirmDo(`Take ${k.name} offline? Referrals stop earning rewards in ${k.environment}.`, 'Take offline'))) return;
        await api('PATCH', appPath(`/campaigns/${encodeURIComponent(k.id)}`), { isLive: false });
        toast(`${k.name} is offline.`);
        reload();
      }, { class: 'danger' })
      : action('Go live', async () => {
        if (!(await confirmDo(`Make ${k.name} the live campaign of ${k.environment}? The one live now goes offline.`, 'Go live'))) return;
        await api('POST', appPath(`/campaigns/${encodeURIComponent(k.id)}/go-live`));
        toast(`${k.name} is live in ${k.environment}.`);
        reload();
      }),
    action(`Copy to ${other}`, async () => {
      const c = await api('POST', appPath(`/campaigns/${encodeURIComponent(k.id)}/copy`), { environment: other });
      toast(`Copied to ${other} (not live).`);
      state.env = other;
      sessionStorage.setItem('flock.env', other);
      document.getElementById('env-select').value = other;
      location.hash = `#/campaigns/${c.id}`;
    }, { class: 'quiet' }));
}

export async function campaign(main, id) {
  if (id === 'new') return newCampaign(main);
  const body = h('div');
  main.append(...page('Campaign'), body);
  const reload = () => region(body, 'the campaign', async () => {
    const k = await api('GET', appPath(`/campaigns/${encodeURIComponent(id)}`));
    document.getElementById('page-title').textContent = `Campaign ${k.name}`;
    const f = campaignFields(k);
    const form = h('form', { class: 'campaign', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('PATCH', appPath(`/campaigns/${encodeURIComponent(id)}`), f.body());
        toast('Campaign saved.');
        reload();
      } catch (e) { toast(`Cannot save the campaign: ${e.message}`); }
    } }, ...f.view(), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save campaign')));
    return [
      h('p', {}, k.isLive ? badge('live') : badge('offline'), ` ${k.environment} · `, h('code', {}, k.id),
        k.copiedFromCampaignId ? ` · copied from ${k.copiedFromCampaignId}` : ''),
      liveActions(k, reload), form,
      h('h2', {}, 'Rewards'), ...(await rewardsSection(k, reload)),
      h('h2', {}, 'Checkpoints'), ...(await checkpointsSection(k, reload)),
    ];
  });
  await reload();
}
