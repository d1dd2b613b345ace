/* global document, window, sessionStorage, fetch, setInterval, clearInterval, URLSearchParams, Node, Chart */
/**
 * The Tributary operations console: a token-authenticated client of /ops/api (server/ops-routes.ts).
 * Plain ES module, no build step, no inline code (the page's CSP allows scripts from this origin only).
 * Everything from the API is written with textContent, never as HTML.
 */
const TOKEN_KEY = 'tributary.opsToken';
const REFRESH_MS = 3000;
const PAGES = ['partners', 'webhooks', 'payments', 'reconciliation', 'audit'];

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
let timer = null;
let chart = null;
let openEvent = null;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(`/ops/api/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = answer.error?.code ?? `HTTP_${response.status}`;
    const message = answer.error?.message ?? response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return answer;
}

function showError(error) {
  const box = $('error');
  if (!error) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  let text = error.message;
  if (error.status === 403)
    text = `Refused (403): ${/needs ops:write/.test(text) ? 'needs ops:write' : text}`;
  else if (error.status === 401) text = `Not logged in (401): ${text}`;
  box.textContent = text;
  box.hidden = false;
}

/** A new element with attributes and children (strings become text nodes). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'class') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, String(value));
  }
  for (const child of children) element.append(child instanceof Node ? child : String(child ?? ''));
  return element;
}

const ms = (value) => (value === null || value === undefined ? '–' : `${value} ms`);
const pct = (value) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)} %`);
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '–');

/** red: breaker open or most calls failing; amber: trial calls or some failing; green otherwise. */
function healthOf(partner) {
  if (partner.breakerState === 'OPEN' || (partner.errorRate ?? 0) >= 0.5) return 'red';
  if (partner.breakerState === 'HALF_OPEN' || (partner.errorRate ?? 0) > 0) return 'amber';
  return 'green';
}

async function renderPartners() {
  const { partners } = await api('GET', 'partners');
  $('partners-table').replaceChildren(
    ...partners.map((partner) => {
      const health = healthOf(partner);
      return h(
        'tr',
        { 'data-testid': `partner-row-${partner.provider}`, 'data-health': health },
        h('td', {}, partner.provider),
        h(
          'td',
          {},
          h(
            'span',
            {
              class: `badge health-${health}`,
              'data-testid': `breaker-${partner.provider}`,
              'data-health': health,
            },
            partner.breakerState,
          ),
        ),
        h('td', {}, pct(partner.errorRate)),
        h('td', {}, ms(partner.p50Ms)),
        h('td', {}, ms(partner.p99Ms)),
        h('td', {}, partner.calls),
      );
    }),
  );
  $('partners-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  drawChart(partners);
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function drawChart(partners) {
  if (typeof Chart === 'undefined') return;
  const labels = (partners[0]?.series ?? []).map((bucket) =>
    new Date(bucket.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
  );
  const datasets = partners.flatMap((partner, index) => [
    {
      label: `${partner.provider} p50`,
      data: partner.series.map((bucket) => bucket.p50Ms),
      borderColor: COLOURS[index % COLOURS.length],
      spanGaps: true,
    },
    {
      label: `${partner.provider} p99`,
      data: partner.series.map((bucket) => bucket.p99Ms),
      borderColor: COLOURS[index % COLOURS.length],
      borderDash: [6, 4],
      spanGaps: true,
    },
  ]);
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets = datasets;
    chart.update('none');
    return;
  }
  chart = new Chart($('latency-chart'), {
    type: 'line',
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: 'Call latency per minute, last hour (ms)' } },
      scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } },
    },
  });
}

let partnersListed = false;

async function renderWebhooks() {
  if (!partnersListed) {
    const { partners } = await api('GET', 'partners');
    $('filter-partner').append(
      ...partners.map((partner) => h('option', { value: partner.provider }, partner.provider)),
    );
    partnersListed = true;
  }
  const query = new URLSearchParams();
  if ($('filter-partner').value) query.set('partner', $('filter-partner').value);
  if ($('filter-status').value) query.set('status', $('filter-status').value);
  if ($('filter-since').value) query.set('since', new Date($('filter-since').value).toISOString());
  const { events } = await api('GET', `webhooks?${query}`);
  $('webhooks-table').replaceChildren(
    ...events.map((event) =>
      h(
        'tr',
        {
          class: 'clickable',
          'data-testid': 'webhook-row',
          'data-id': event.id,
          'data-status': event.status,
          onclick: () => openWebhook(event.id).catch(showError),
        },
        h(
          'td',
          {},
          h('span', { class: `badge status-${event.status}`, 'data-testid': 'webhook-status' }, event.status),
        ),
        h('td', {}, event.provider),
        h('td', {}, event.type),
        h('td', {}, event.partnerEventId),
        h('td', {}, event.attempts),
        h('td', {}, time(event.receivedAt)),
      ),
    ),
  );
  $('webhooks-empty').hidden = events.length > 0;
  if (openEvent) await showWebhook(openEvent);
}

async function openWebhook(id) {
  openEvent = id;
  $('replay-result').textContent = '';
  await showWebhook(id);
}

async function showWebhook(id) {
  const { event } = await api('GET', `webhooks/${encodeURIComponent(id)}`);
  $('detail-id').textContent = event.id;
  $('detail-status').replaceChildren(
    h('span', { class: `badge status-${event.status}`, 'data-status': event.status }, event.status),
  );
  $('detail-status').setAttribute('data-status', event.status);
  $('detail-type').textContent = `${event.provider} / ${event.type} (${event.partnerEventId})`;
  $('detail-attempts').textContent = String(event.attempts);
  $('detail-error').textContent = event.lastError ?? '–';
  $('detail-payload').textContent = JSON.stringify(event.payload, null, 2);
  $('webhook-detail').hidden = false;
}

async function replayOpen() {
  try {
    const answer = await api('POST', `webhooks/${encodeURIComponent(openEvent)}/replay`);
    $('replay-result').textContent = `Replayed: now ${answer.status}.`;
    showError(null);
    await renderWebhooks();
  } catch (error) {
    $('replay-result').textContent = '';
    showError(error);
  }
}

async function renderPayments() {
  const [{ payments }, { disputes }] = await Promise.all([
    api('GET', 'payments/attention'),
    api('GET', 'disputes'),
  ]);
  renderDisputes(disputes);
  $('attention-table').replaceChildren(
    ...payments.map((item) =>
      h(
        'tr',
        { 'data-testid': 'attention-row' },
        h('td', {}, item.reason),
        h('td', {}, item.paymentId ?? '–'),
        h('td', {}, item.provider ?? '–'),
        h('td', {}, item.status ?? '–'),
        h('td', {}, item.detail),
        h('td', {}, time(item.since)),
      ),
    ),
  );
  $('attention-empty').hidden = payments.length > 0;
}

function renderDisputes(disputes) {
  $('disputes-table').replaceChildren(
    ...disputes.map((dispute) =>
      h(
        'tr',
        { 'data-testid': 'dispute-row', 'data-status': dispute.status, 'data-overdue': dispute.overdue },
        h('td', {}, h('span', { class: `badge dispute-${dispute.status}` }, dispute.status)),
        h('td', {}, dispute.reason),
        h('td', {}, `${dispute.amount.amount} ${dispute.amount.currency}`),
        h('td', { class: dispute.overdue ? 'overdue' : undefined }, time(dispute.evidenceDueBy)),
        h('td', {}, dispute.paymentId),
        h('td', {}, dispute.provider),
        h('td', {}, time(dispute.openedAt)),
      ),
    ),
  );
  $('disputes-empty').hidden = disputes.length > 0;
}

function showRun(run) {
  if (!run) {
    $('reconciliation-summary').textContent = 'No reconciliation has run yet.';
    $('discrepancies-table').replaceChildren();
    return;
  }
  $('reconciliation-summary').textContent =
    `Run ${run.id} by ${run.actor} at ${time(run.finishedAt)}: ${run.providers.join(', ') || 'no partners'}; ` +
    `${run.checked} checked, ${run.matched} matched, ${run.discrepancies.length} discrepancies` +
    (run.apply ? ' (applied)' : ' (report only)');
  $('discrepancies-table').replaceChildren(
    ...run.discrepancies.map((item) =>
      h(
        'tr',
        { 'data-testid': 'discrepancy-row' },
        h('td', {}, item.kind),
        h('td', {}, item.provider ?? '–'),
        h('td', {}, item.paymentId ?? '–'),
        h('td', {}, item.ours ?? '–'),
        h('td', {}, item.partner ?? '–'),
        h('td', {}, item.applied ? 'yes' : 'no'),
        h('td', {}, item.detail),
      ),
    ),
  );
}

async function renderReconciliation() {
  showRun((await api('GET', 'reconciliation')).run);
}

async function renderAudit() {
  const audit = await api('GET', 'audit');
  const status = $('audit-status');
  status.setAttribute('data-ok', String(audit.ok));
  status.className = audit.ok ? 'ok' : 'broken';
  status.textContent = audit.ok
    ? 'Audit chain intact.'
    : `Audit chain BROKEN at entry ${audit.brokenAt}: ${audit.reason ?? 'unknown reason'}`;
  $('audit-entries').textContent = String(audit.entries);
  $('audit-head').textContent = audit.head ? `#${audit.head.seq} ${audit.head.hash}` : '–';
}

const RENDER = {
  partners: renderPartners,
  webhooks: renderWebhooks,
  payments: renderPayments,
  reconciliation: renderReconciliation,
  audit: renderAudit,
};
const AUTO_REFRESH = new Set(['partners', 'webhooks']);

function currentPage() {
  const name = window.location.hash.replace(/^#\/?/, '').split('/')[0];
  return PAGES.includes(name) ? name : 'partners';
}

async function refresh(page) {
  try {
    await RENDER[page]();
    showError(null);
  } catch (error) {
    showError(error);
    if (error.status === 401) logout();
  }
}

function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin();
  const page = currentPage();
  $('login').hidden = true;
  $('main').hidden = false;
  $('nav').hidden = false;
  for (const name of PAGES) {
    $(`page-${name}`).hidden = name !== page;
    $(`nav-${name}`).classList.toggle('active', name === page);
  }
  if (timer) clearInterval(timer);
  timer = AUTO_REFRESH.has(page) ? setInterval(() => refresh(page), REFRESH_MS) : null;
  return refresh(page);
}

function showLogin() {
  if (timer) clearInterval(timer);
  timer = null;
  $('login').hidden = false;
  $('main').hidden = true;
  $('nav').hidden = true;
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin();
}

async function login(event) {
  event.preventDefault();
  const token = $('token-input').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await api('GET', 'partners');
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    showError(
      error.status === 403 ? new ApiError(403, error.code, `needs ops:read (${error.message})`) : error,
    );
    return;
  }
  $('token-input').value = '';
  showError(null);
  if (!window.location.hash) window.location.hash = '#/partners';
  else await route();
}

$('login-form').addEventListener('submit', login);
$('logout').addEventListener('click', logout);
$('webhook-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  openEvent = null;
  $('webhook-detail').hidden = true;
  refresh('webhooks');
});
$('replay-button').addEventListener('click', () => $('replay-dialog').showModal());
$('replay-dialog').addEventListener('close', () => {
  if ($('replay-dialog').returnValue === 'confirm') replayOpen();
});
$('reconcile-run').addEventListener('click', async () => {
  try {
    showRun((await api('POST', 'reconcile', { apply: false })).run);
    showError(null);
  } catch (error) {
    showError(error);
  }
});
window.addEventListener('hashchange', route);
route();
