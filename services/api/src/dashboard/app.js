// tokenledger dashboard: plain browser JavaScript, no build step. Every number comes from the
// query api with the user's key; money arrives as exact decimal strings and is only rounded here,
// for display (Intl.NumberFormat formats the string itself, not a float of it).
// Each panel carries data-state: idle | loading | ready | error | unavailable.
'use strict';

(function dashboard() {
  const KEY_STORAGE = 'tokenledger.queryKey';
  const DAY_MS = 86_400_000;
  const MAX_SERIES = 8;
  const PALETTE = ['#3b5bdb', '#12b886', '#f76707', '#7950f2', '#e64980', '#15aabf', '#fab005', '#82c91e', '#868e96'];
  const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const form = /** @type {HTMLFormElement} */ ($('controls'));
  const keyInput = /** @type {HTMLInputElement} */ ($('key'));
  const fromInput = /** @type {HTMLInputElement} */ ($('from'));
  const toInput = /** @type {HTMLInputElement} */ ($('to'));
  const banner = $('banner');
  const charts = new Map();
  let generation = 0;
  /** Header figures that two answers meet in: total spend (spend) and retry tax (waste). */
  let spendTotal = null;
  let retryTax = null;

  // ---------------------------------------------------------------- formatting

  const formatters = new Map();
  function nf(options) {
    const id = JSON.stringify(options);
    if (!formatters.has(id)) formatters.set(id, new Intl.NumberFormat(undefined, options));
    return formatters.get(id);
  }
  const isBlank = (v) => v === null || v === undefined || v === '';

  /** "12.345678" → "$12.35"; small amounts keep more digits so they do not read as zero. */
  function money(value) {
    if (isBlank(value)) return '—';
    const abs = Math.abs(Number(value));
    const max = abs === 0 || abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
    return nf({ style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: max }).format(String(value));
  }
  /** Axis ticks: "$0.15", "$20", "$1.5K". */
  function axisTick(n) {
    const abs = Math.abs(n);
    if (abs >= 1000) return nf({ style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1 }).format(n);
    const digits = abs === 0 || (abs >= 1 && Number.isInteger(n)) ? 0 : abs >= 0.01 ? 2 : 4;
    return nf({ style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
  }
  const count = (value) => (isBlank(value) ? '—' : nf({ maximumFractionDigits: 0 }).format(String(value)));
  const decimal = (value) => (isBlank(value) ? '—' : nf({ maximumFractionDigits: 2 }).format(String(value)));
  const percent = (value) => (isBlank(value) || !Number.isFinite(Number(value)) ? '—' : nf({ style: 'percent', maximumFractionDigits: 1 }).format(Number(value)));

  /** Exact decimal arithmetic for sums shown as money: nano-USD in BigInt. */
  function toNanos(value) {
    const match = /^(-?)(\d+)(?:\.(\d{0,9})\d*)?$/.exec(String(value ?? '0').trim());
    if (!match) return 0n;
    const nanos = BigInt(match[2]) * 1_000_000_000n + BigInt((match[3] ?? '').padEnd(9, '0'));
    return match[1] ? -nanos : nanos;
  }

  /** Shows a money value rounded, with the exact api value in the tooltip and data-value. */
  function setMoney(el, value) {
    el.textContent = money(value);
    el.title = isBlank(value) ? '' : `${value} USD (exact)`;
    if (isBlank(value)) delete el.dataset.value;
    else el.dataset.value = String(value);
  }

  const dayLabel = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

  // ---------------------------------------------------------------- api

  function describeFailure(status, path, serverMessage) {
    const endpoint = path.split('?')[0];
    const detail = serverMessage ? `: ${serverMessage}` : '';
    if (status === 401) return `The query key was refused (401)${detail}.`;
    if (status === 403) return `This key may not read this data (403)${detail}.`;
    if (status === 404) return `${endpoint} is not available on this server (404).`;
    if (status === 400) return `The api refused the request (400)${detail}.`;
    if (status === 0) return `The api could not be reached${detail}.`;
    return `The api failed to answer ${endpoint} (${status})${detail}.`;
  }

  /** GET with the key; never throws: `{ok, status, body}` or `{ok: false, status, message}`. */
  async function api(path, key) {
    let res;
    try {
      res = await fetch(path, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, cache: 'no-store' });
    } catch (error) {
      return { ok: false, status: 0, message: describeFailure(0, path, error instanceof Error ? error.message : String(error)) };
    }
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (res.ok && body !== null) return { ok: true, status: res.status, body };
    const serverMessage = body && typeof body === 'object' ? body.error && body.error !== 'Not Found' ? body.error : body.message : undefined;
    return { ok: false, status: res.status, message: describeFailure(res.status, path, serverMessage) };
  }

  // ---------------------------------------------------------------- panels

  function panel(id) {
    const el = $(id);
    return {
      el,
      status: /** @type {HTMLElement} */ (el.querySelector('.status')),
      table: /** @type {HTMLElement | null} */ (el.querySelector('.table-box')),
    };
  }
  const panels = {
    spend: panel('panel-spend'),
    unit: panel('panel-unit'),
    waste: panel('panel-waste'),
    runs: panel('panel-runs'),
    budgets: panel('panel-budgets'),
  };

  function setState(p, state, message = '') {
    p.el.dataset.state = state;
    p.status.textContent = message;
    p.el.classList.remove('empty');
    if (state !== 'ready' && p.table) p.table.replaceChildren();
  }

  function showBanner(message, kind = 'error') {
    banner.textContent = message;
    banner.className = kind === 'info' ? 'banner info' : 'banner';
    banner.hidden = false;
  }
  const hideBanner = () => { banner.hidden = true; banner.textContent = ''; };

  function drawChart(canvasId, config) {
    if (typeof window.Chart !== 'function') throw new Error('the chart library did not load');
    charts.get(canvasId)?.destroy();
    const chart = new window.Chart(/** @type {HTMLCanvasElement} */ ($(canvasId)), config);
    charts.set(canvasId, chart);
    return chart;
  }
  function clearCharts() {
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
  }

  /** A table from column specs `{label, value(row), kind?: 'money'|'num'|'pct'|'mono'|'pill', cls?(row)}`. */
  function table(columns, rows) {
    const t = document.createElement('table');
    const head = t.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement('th');
      th.textContent = c.label;
      if (['money', 'num', 'pct'].includes(c.kind)) th.className = 'num';
      head.append(th);
    }
    const body = t.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const c of columns) {
        const td = tr.insertCell();
        const v = c.value(row);
        if (c.kind === 'money') { setMoney(td, v); td.className = 'num'; }
        else if (c.kind === 'num') { td.textContent = typeof v === 'number' || /^-?[\d.]+$/.test(String(v)) ? decimal(v) : String(v ?? '—'); td.className = 'num'; }
        else if (c.kind === 'pct') { td.textContent = percent(v); td.className = 'num'; }
        else if (c.kind === 'pill') {
          const span = document.createElement('span');
          span.className = `pill ${String(v ?? 'none').replace(/[^a-z_]/gi, '')}`;
          span.textContent = isBlank(v) ? 'none' : String(v).replace(/_/g, ' ');
          td.append(span);
        } else { td.textContent = isBlank(v) ? '—' : String(v); if (c.kind === 'mono') td.className = 'mono'; }
        const extra = c.cls?.(row);
        if (extra) td.classList.add(extra);
      }
    }
    return t;
  }

  const axisMoney = { ticks: { callback: (v) => axisTick(Number(v)) }, grid: { color: '#eef1f6' }, border: { display: false } };
  const tooltipMoney = (ctx) => `${ctx.dataset.label}: ${money(String(ctx.raw ?? 0))}`;

  // (1) spend over time by project
  function renderSpend(p, body, range) {
    const rows = Array.isArray(body.rows) ? body.rows : [];
    const totals = body.totals ?? {};
    setMoney($('total-spend'), totals.cost_usd ?? '0');
    const tokens = ['input_tokens', 'output_tokens', 'reasoning_tokens'].reduce((s, f) => s + Number(totals[f] ?? 0), 0);
    $('total-calls').textContent = `${count(totals.calls ?? 0)} calls · ${nf({ notation: 'compact', maximumFractionDigits: 1 }).format(tokens)} tokens`;
    spendTotal = Number(totals.cost_usd ?? 0);
    updateRetryShare();

    if (rows.length === 0) {
      setState(p, 'ready', 'No spend in this range.');
      p.el.classList.add('empty');
      return;
    }
    const days = [];
    for (let t = range.fromMs; t < range.toMs; t += DAY_MS) days.push(isoDay(t));
    const dayIndex = new Map(days.map((d, i) => [d, i]));
    const byProject = new Map();
    for (const r of rows) {
      const name = isBlank(r.project) ? '(no project)' : String(r.project);
      const acc = byProject.get(name) ?? { total: 0n, perDay: new Map() };
      const nanos = toNanos(r.cost_usd);
      acc.total += nanos;
      const day = String(r.period ?? '').slice(0, 10);
      acc.perDay.set(day, (acc.perDay.get(day) ?? 0n) + nanos);
      byProject.set(name, acc);
    }
    const ranked = [...byProject].sort((a, b) => (b[1].total > a[1].total ? 1 : b[1].total < a[1].total ? -1 : a[0].localeCompare(b[0])));
    const shown = ranked.length > MAX_SERIES + 1 ? ranked.slice(0, MAX_SERIES) : ranked;
    const rest = ranked.slice(shown.length);
    const series = shown.map(([name, acc]) => ({ name, perDay: acc.perDay }));
    if (rest.length) {
      const perDay = new Map();
      for (const [, acc] of rest) for (const [d, v] of acc.perDay) perDay.set(d, (perDay.get(d) ?? 0n) + v);
      series.push({ name: `other (${rest.length})`, perDay });
    }
    const fromNanos = (n) => Number(n) / 1e9; // charts only: the exact values are in the tooltips' source rows
    drawChart('chart-spend', {
      type: 'bar',
      data: {
        labels: days.map(dayLabel),
        datasets: series.map((s, i) => ({
          label: s.name,
          data: days.map((d) => fromNanos(s.perDay.get(d) ?? 0n)),
          backgroundColor: PALETTE[i % PALETTE.length],
          borderRadius: 2,
          maxBarThickness: 36,
        })),
      },
      options: {
        animation: reduceMotion ? false : { duration: 400 },
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { ...axisMoney, stacked: true, beginAtZero: true } },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              label: tooltipMoney,
              footer: (items) => `Day total: ${money(String(items.reduce((s, it) => s + Number(it.raw ?? 0), 0).toFixed(9)))}`,
            },
          },
        },
      },
    });
    setState(p, 'ready');
  }

  // (2) cost per accepted outcome against baseline
  function renderUnit(p, body) {
    const rows = Array.isArray(body.rows) ? body.rows : [];
    const outcomes = rows.reduce((s, r) => s + Number(r.outcomes ?? 0), 0);
    const accepted = rows.reduce((s, r) => s + Number(r.accepted ?? Math.round(Number(r.acceptance_rate ?? 0) * Number(r.outcomes ?? 0))), 0);
    const totalOutcomes = body.totals?.outcomes ?? outcomes;
    const totalAccepted = body.totals?.accepted ?? accepted;
    $('total-outcomes').textContent = count(totalOutcomes);
    $('total-accepted').textContent = `${count(totalAccepted)} accepted`;
    const rate = body.totals?.acceptance_rate ?? (Number(totalOutcomes) > 0 ? Number(totalAccepted) / Number(totalOutcomes) : null);
    $('acceptance-rate').textContent = percent(rate);
    $('acceptance-sub').textContent = rows.length ? `across ${rows.length} outcome type${rows.length === 1 ? '' : 's'}` : 'no outcomes yet';

    if (rows.length === 0) {
      setState(p, 'ready', 'No outcomes in this range.');
      p.el.classList.add('empty');
      return;
    }
    const name = (r) => (isBlank(r.outcome_type) ? '(none)' : String(r.outcome_type));
    const num = (v) => (isBlank(v) ? null : Number(v));
    drawChart('chart-unit', {
      type: 'bar',
      data: {
        labels: rows.map(name),
        datasets: [
          { label: 'Cost per accepted outcome', data: rows.map((r) => num(r.cost_per_accepted_outcome_usd)), backgroundColor: '#3b5bdb', borderRadius: 3, maxBarThickness: 48 },
          { label: 'Baseline cost per outcome', data: rows.map((r) => num(r.baseline_cost_per_outcome_usd)), backgroundColor: '#ced4da', borderRadius: 3, maxBarThickness: 48 },
        ],
      },
      options: {
        animation: reduceMotion ? false : { duration: 400 },
        maintainAspectRatio: false,
        scales: { x: { grid: { display: false } }, y: { ...axisMoney, beginAtZero: true } },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } }, tooltip: { callbacks: { label: tooltipMoney } } },
      },
    });
    const cheaper = (r) => {
      if (isBlank(r.cost_per_accepted_outcome_usd) || isBlank(r.baseline_cost_per_outcome_usd)) return '';
      return toNanos(r.cost_per_accepted_outcome_usd) <= toNanos(r.baseline_cost_per_outcome_usd) ? 'better' : 'worse';
    };
    p.table?.replaceChildren(table([
      { label: 'Outcome type', value: name },
      { label: 'Outcomes', value: (r) => r.outcomes, kind: 'num' },
      { label: 'Acceptance', value: (r) => r.acceptance_rate, kind: 'pct' },
      { label: 'Cost / accepted', value: (r) => r.cost_per_accepted_outcome_usd, kind: 'money', cls: cheaper },
      { label: 'Baseline', value: (r) => r.baseline_cost_per_outcome_usd, kind: 'money' },
      { label: 'Savings', value: (r) => r.savings_usd, kind: 'money' },
      { label: 'ROI', value: (r) => r.roi, kind: 'pct' },
    ], rows));
    setState(p, 'ready');
  }

  // (3) waste breakdown
  function updateRetryShare() {
    if (retryTax === null) return;
    $('waste-sub').textContent = spendTotal ? `${percent(Number(retryTax) / spendTotal)} of spend went to retries` : 'spent on retries';
  }

  function renderWaste(p, body) {
    const parts = [
      { label: 'Retry tax', value: body.retry_tax_usd, color: '#f76707' },
      { label: 'Spend with no outcome', value: body.no_outcome_spend_usd, color: '#e64980' },
      { label: 'Unattributed', value: body.unattributed_usd, color: '#868e96' },
    ];
    retryTax = body.retry_tax_usd ?? '0';
    setMoney($('total-waste'), retryTax);
    updateRetryShare();

    drawChart('chart-waste', {
      type: 'bar',
      data: {
        labels: parts.map((x) => x.label),
        datasets: [{ label: 'USD', data: parts.map((x) => Number(x.value ?? 0)), backgroundColor: parts.map((x) => x.color), borderRadius: 3, maxBarThickness: 28 }],
      },
      options: {
        indexAxis: 'y',
        animation: reduceMotion ? false : { duration: 400 },
        maintainAspectRatio: false,
        scales: { x: { ...axisMoney, beginAtZero: true }, y: { grid: { display: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => money(String(parts[ctx.dataIndex]?.value ?? '0')) } } },
      },
    });

    const facts = document.createElement('div');
    facts.className = 'waste-facts';
    for (const part of [...parts, { label: 'Unpriced calls', value: body.unpriced_calls, kind: 'count' }]) {
      const fact = document.createElement('div');
      fact.className = 'fact';
      const b = document.createElement('b');
      if (part.kind === 'count') b.textContent = count(part.value ?? 0);
      else setMoney(b, part.value ?? '0');
      const span = document.createElement('span');
      span.textContent = part.label;
      fact.append(b, span);
      facts.append(fact);
    }
    const nodes = [facts];
    const candidates = Array.isArray(body.routing_candidates) ? body.routing_candidates : [];
    const caption = document.createElement('p');
    caption.className = 'caption';
    caption.textContent = candidates.length ? 'Model-routing candidates' : 'No model-routing candidates in this range';
    nodes.push(caption);
    if (candidates.length) {
      // The columns the contract names first, in reading order; any others after them.
      const preferred = ['workflow', 'current_model', 'candidate_model', 'current_acceptance_rate', 'candidate_acceptance_rate',
        'current_mean_cost_usd', 'candidate_mean_cost_usd', 'current_outcomes', 'money_at_stake_usd'];
      const labels = {
        workflow: 'Workflow', current_model: 'Model', candidate_model: 'Cheaper model', current_acceptance_rate: 'Accepts',
        candidate_acceptance_rate: 'Cheaper accepts', current_mean_cost_usd: 'Cost / outcome', candidate_mean_cost_usd: 'Cheaper cost / outcome',
        current_outcomes: 'Outcomes', candidate_outcomes: 'Cheaper outcomes', money_at_stake_usd: 'At stake',
      };
      const rank = (k) => (preferred.includes(k) ? preferred.indexOf(k) : preferred.length);
      const keys = [...new Set(candidates.flatMap((c) => Object.keys(c ?? {})))].sort((a, b) => rank(a) - rank(b));
      nodes.push(table(keys.map((k) => ({
        label: labels[k] ?? k.replace(/_usd$/, '').replace(/_/g, ' '),
        value: (r) => (r[k] !== null && typeof r[k] === 'object' ? JSON.stringify(r[k]) : r[k]),
        kind: k.endsWith('_usd') ? 'money' : /rate|share|yield/.test(k) ? 'pct' : typeof candidates[0]?.[k] === 'number' ? 'num' : undefined,
      })), candidates));
    }
    p.table?.replaceChildren(...nodes);
    setState(p, 'ready');
  }

  // (4) top runs by retry tax
  function renderRuns(p, body) {
    const rows = Array.isArray(body) ? body : Array.isArray(body.rows) ? body.rows : [];
    if (rows.length === 0) {
      setState(p, 'ready', 'No retries in this range.');
      return;
    }
    p.table?.replaceChildren(table([
      { label: 'Run', value: (r) => r.run_id, kind: 'mono' },
      { label: 'Outcome', value: (r) => r.outcome_status, kind: 'pill' },
      { label: 'Calls', value: (r) => r.calls, kind: 'num' },
      { label: 'Cost', value: (r) => r.cost_usd, kind: 'money' },
      { label: 'Retry tax', value: (r) => r.retry_tax_usd, kind: 'money' },
      { label: 'Retry share', value: (r) => (Number(r.cost_usd) > 0 ? Number(r.retry_tax_usd) / Number(r.cost_usd) : null), kind: 'pct' },
    ], rows));
    setState(p, 'ready');
  }

  // (5) budget envelopes: the current period, whatever the range above
  function renderBudgets(p, body) {
    const rows = Array.isArray(body.budgets) ? body.budgets : [];
    if (rows.length === 0) {
      setState(p, 'ready', 'No budgets configured.');
      return;
    }
    p.table?.replaceChildren(table([
      { label: 'Envelope', value: (r) => `${r.scope}: ${r.key}` },
      { label: 'Period', value: (r) => `${r.period} from ${String(r.period_start).slice(0, 10)}` },
      { label: 'Owner', value: (r) => r.value_owner },
      { label: 'Amount', value: (r) => r.amount_usd, kind: 'money' },
      { label: 'Burn', value: (r) => r.burn_usd, kind: 'money' },
      { label: 'Per day', value: (r) => r.burn_rate_usd_per_day, kind: 'money' },
      { label: 'Forecast', value: (r) => r.forecast_usd, kind: 'money', cls: (r) => (r.warning ? 'warn' : '') },
      { label: 'Reserved', value: (r) => r.reserved_usd, kind: 'money' },
      { label: 'Remaining', value: (r) => r.remaining_usd, kind: 'money' },
      { label: 'State', value: (r) => (r.over ? 'over' : r.warning ? 'warning' : 'ok'), kind: 'pill' },
    ], rows));
    setState(p, 'ready');
  }

  // ---------------------------------------------------------------- loading

  function resetKpis() {
    for (const id of ['total-spend', 'total-outcomes', 'acceptance-rate', 'total-waste']) {
      const el = $(id);
      el.textContent = '—';
      el.title = '';
      delete el.dataset.value;
    }
    for (const id of ['total-calls', 'total-accepted', 'acceptance-sub', 'waste-sub']) $(id).textContent = '';
    spendTotal = null;
    retryTax = null;
  }

  function readRange() {
    const from = fromInput.value;
    const to = toInput.value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) return { error: 'Choose a start and an end date.' };
    const fromMs = Date.parse(`${from}T00:00:00Z`);
    const toMs = Date.parse(`${to}T00:00:00Z`) + DAY_MS; // the end date is included
    if (!(fromMs < toMs)) return { error: 'The start date must not be after the end date.' };
    return { fromMs, toMs, from: new Date(fromMs).toISOString().replace('.000Z', 'Z'), to: new Date(toMs).toISOString().replace('.000Z', 'Z') };
  }

  /** Runs one panel: fetch, then render; any failure (answer or rendering) becomes its error state. */
  async function runPanel(p, request, render, gen, onAuthFailure, onFailure = () => {}) {
    setState(p, 'loading', 'Loading…');
    const result = await request;
    if (gen !== generation) return;
    try {
      if (result.ok) render(result.body);
      else {
        onFailure();
        if (result.status === 401 || result.status === 403) onAuthFailure(result.message);
        if (result.status === 404 && p === panels.runs) setState(p, 'unavailable', 'Top runs by retry tax are not available on this server yet.');
        else if (result.status === 404 && p === panels.budgets) setState(p, 'unavailable', 'Budgets are not available on this server.');
        else setState(p, 'error', result.message);
      }
    } catch (error) {
      onFailure();
      setState(p, 'error', `Could not show this panel: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Loads every panel; the document's data-loaded marks when all have settled (tests wait on it). */
  async function load() {
    const gen = ++generation;
    delete document.documentElement.dataset.loaded;
    await loadPanels(gen);
    if (gen === generation) document.documentElement.dataset.loaded = String(gen);
  }

  async function loadPanels(gen) {
    const key = keyInput.value.trim();
    clearCharts();
    resetKpis();
    if (!key) {
      for (const p of Object.values(panels)) setState(p, 'idle');
      showBanner('Enter a query key (tlq_…) to load the dashboard. It is kept only in this browser tab.', 'info');
      return;
    }
    const range = readRange();
    if ('error' in range) {
      for (const p of Object.values(panels)) setState(p, 'idle');
      showBanner(range.error);
      return;
    }
    hideBanner();
    sessionStorage.setItem(KEY_STORAGE, key);
    const hash = new URLSearchParams({ from: fromInput.value, to: toInput.value });
    history.replaceState(null, '', `${location.pathname}${location.search}#${hash}`);

    const qs = (extra) => new URLSearchParams({ from: range.from, to: range.to, ...extra }).toString();
    let authFailed = false;
    const onAuthFailure = (message) => {
      if (authFailed) return;
      authFailed = true;
      showBanner(`${message} Check the key and load again.`);
    };
    await Promise.all([
      runPanel(panels.spend, api(`/v1/spend?${qs({ group_by: 'project', interval: 'day' })}`, key), (b) => renderSpend(panels.spend, b, range), gen, onAuthFailure),
      runPanel(panels.unit, api(`/v1/unit-economics?${qs({ group_by: 'outcome_type' })}`, key), (b) => renderUnit(panels.unit, b), gen, onAuthFailure, () => {
        $('total-accepted').textContent = 'unit economics unavailable';
        $('acceptance-sub').textContent = 'unit economics unavailable';
      }),
      runPanel(panels.waste, api(`/v1/waste?${qs({})}`, key), (b) => renderWaste(panels.waste, b), gen, onAuthFailure, () => {
        $('waste-sub').textContent = 'waste figures unavailable';
      }),
      runPanel(panels.runs, api(`/v1/top-runs?${qs({ by: 'retry_tax', limit: '10' })}`, key), (b) => renderRuns(panels.runs, b), gen, onAuthFailure),
      runPanel(panels.budgets, api('/v1/budgets', key), (b) => renderBudgets(panels.budgets, b), gen, onAuthFailure),
    ]);
  }

  // ---------------------------------------------------------------- start

  function start() {
    if (typeof window.Chart === 'function') {
      window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      window.Chart.defaults.color = '#5d6b82';
    }
    // `#key=…&from=YYYY-MM-DD&to=YYYY-MM-DD`: the key moves to sessionStorage and leaves the URL.
    const hash = new URLSearchParams(location.hash.slice(1));
    const hashKey = hash.get('key');
    if (hashKey) sessionStorage.setItem(KEY_STORAGE, hashKey);
    keyInput.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
    const today = Date.parse(`${isoDay(Date.now())}T00:00:00Z`);
    const day = /^\d{4}-\d{2}-\d{2}$/;
    toInput.value = day.test(hash.get('to') ?? '') ? /** @type {string} */ (hash.get('to')) : isoDay(today);
    fromInput.value = day.test(hash.get('from') ?? '') ? /** @type {string} */ (hash.get('from')) : isoDay(today - 29 * DAY_MS);
    if (hashKey) history.replaceState(null, '', `${location.pathname}${location.search}`);

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void load();
    });
    $('forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORAGE);
      keyInput.value = '';
      void load();
    });
    void load();
  }

  start();
})();
