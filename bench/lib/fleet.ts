/**
 * A fleet of agents making LLM calls: realistic usage payloads, reproducible from a seed.
 * Runs of several calls each, three providers, tags, prompt excerpts of about 200 bytes, and
 * a tenant configuration under which every attribution tier gets its share of the events.
 */
import {
  configChange, normalizeUsage, validateUsage, type ConfigEvent, type UsageEvent, type UsagePayload,
} from '@tokenledger/schemas';

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same fleet. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const between = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
/** Log-uniform: token counts span orders of magnitude. */
const logBetween = (rng: Rng, min: number, max: number): number => Math.round(Math.exp(Math.log(min) + rng() * (Math.log(max) - Math.log(min))));
const hex = (rng: Rng, length: number): string => Array.from({ length }, () => Math.floor(rng() * 16).toString(16)).join('');

type CacheStyle = 'reads' | 'reads-and-writes' | 'none';

interface ModelProfile {
  provider: string;
  model: string;
  /** Relative share of the fleet's calls. */
  weight: number;
  cache: CacheStyle;
  reasoning: boolean;
}

const MODELS: readonly ModelProfile[] = [
  { provider: 'openai', model: 'gpt-4o', weight: 5, cache: 'reads', reasoning: false },
  { provider: 'anthropic', model: 'claude-sonnet-4', weight: 3, cache: 'reads-and-writes', reasoning: false },
  { provider: 'google', model: 'gemini-2.5-flash', weight: 2, cache: 'none', reasoning: true },
];

interface Workflow {
  workflow: string;
  agents: readonly string[];
  steps: readonly string[];
  /** Explicit attribution: every call of the workflow carries these tags. */
  tags: Record<string, string>;
  /** Prompt excerpts; `{ticket}` becomes a ticket key, `{n}` a number. */
  prompts: readonly string[];
  /** Share of calls that carry a prompt excerpt. */
  promptShare: number;
}

const FILLER = ' Context follows: the previous attempts, the relevant documents and the constraints of the task.';

const WORKFLOWS: readonly Workflow[] = [
  {
    workflow: 'support-triage', agents: ['triage', 'responder'], steps: ['classify', 'retrieve', 'draft', 'review'],
    tags: { project: 'support-bot', cost_center: 'cc-support', env: 'prod' },
    prompts: ['Customer #{n} writes that the export keeps failing after the last update; classify the issue and draft a reply.'],
    promptShare: 0.3,
  },
  {
    workflow: 'claims-intake', agents: ['extractor', 'validator'], steps: ['extract', 'validate', 'summarize'],
    tags: { project: 'claims-ai', investment: 'ops-automation', env: 'prod' },
    prompts: ['Extract the claimant, policy number and amounts from claim {n}; flag anything inconsistent with the policy terms.'],
    promptShare: 0.3,
  },
  {
    workflow: 'code-review', agents: ['reviewer', 'fixer'], steps: ['read-diff', 'review', 'suggest', 'fix'],
    tags: { env: 'ci' },
    prompts: [
      'Review the pull request for {ticket}: check error handling, tests and naming; suggest concrete fixes inline.',
      'The build for {ticket} fails on the integration suite; find the cause in the diff and propose a minimal patch.',
    ],
    promptShare: 0.9,
  },
  {
    workflow: 'billing-assistant', agents: ['assistant'], steps: ['lookup', 'answer'],
    tags: { env: 'prod' },
    prompts: ['Explain invoice {n} to the customer: list the line items, the discount applied and the refund due, if any.'],
    promptShare: 0.8,
  },
  {
    workflow: 'research-digest', agents: ['researcher'], steps: ['search', 'read', 'summarize'],
    tags: { env: 'prod' },
    prompts: ['Summarize the week in AI infrastructure for the engineering newsletter: {n} sources, three themes.'],
    promptShare: 0.2,
  },
];

const TICKET_PREFIXES = ['PAY', 'CORE', 'WEB'] as const;
/** Users u-00 … u-39; the directory knows the first 30 of them. */
const USERS = Array.from({ length: 40 }, (_, i) => `u-${String(i).padStart(2, '0')}`);
const TEAMS = ['platform', 'growth', 'data'] as const;
const KNOWN_USERS = 30;

/** Everything is dated after this instant: a fixed base keeps the fleet reproducible. */
const FLEET_EPOCH = Date.parse('2026-11-01T00:00:00Z');

function pickModel(rng: Rng): ModelProfile {
  const total = MODELS.reduce((sum, m) => sum + m.weight, 0);
  let roll = rng() * total;
  for (const m of MODELS) if ((roll -= m.weight) < 0) return m;
  return MODELS[0]!;
}

/** About 200 bytes of prompt: the template filled in, then the shared filler up to length. */
function excerpt(rng: Rng, w: Workflow): string {
  const text = pick(rng, w.prompts)
    .replace('{ticket}', `${pick(rng, TICKET_PREFIXES)}-${between(rng, 100, 9999)}`)
    .replace('{n}', String(between(rng, 1000, 99_999)));
  return (text + FILLER).slice(0, 200);
}

interface Call {
  index: number;
  rootSpan: string;
  attempt: number;
  /** The cache the run's first call wrote; later calls read it. */
  cachedPrefix: number;
}

function usagePayload(rng: Rng, run: { id: string; trace: string; startedAt: number; workflow: Workflow; model: ModelProfile; user: string; agent: string }, call: Call): UsagePayload {
  const { workflow: w, model: m } = run;
  const input = logBetween(rng, 400, 24_000);
  const output = logBetween(rng, 40, 2_000);
  const cached = m.cache !== 'none' && call.index > 0 ? Math.min(call.cachedPrefix, input) : 0;
  const cacheWrite = m.cache === 'reads-and-writes' && call.index === 0 ? Math.min(call.cachedPrefix, input) : 0;
  const failed = rng() < 0.02;
  const payload: UsagePayload = {
    occurred_at: new Date(run.startedAt + call.index * 4_000 + between(rng, 0, 999)).toISOString(),
    provider: m.provider,
    model: m.model,
    operation: 'chat',
    input_tokens: input,
    output_tokens: failed ? 0 : output,
    cached_input_tokens: cached,
    cache_write_tokens: cacheWrite,
    reasoning_tokens: m.reasoning && !failed ? Math.floor(output * rng() * 0.6) : 0,
    run_id: run.id,
    trace_id: run.trace,
    span_id: hex(rng, 16),
    parent_span_id: call.rootSpan,
    attempt: call.attempt,
    status: failed ? 'error' : 'ok',
    workflow: w.workflow,
    agent: run.agent,
    step: w.steps[call.index % w.steps.length]!,
    user_id: run.user,
    tags: w.tags,
    latency_ms: between(rng, 300, 15_000),
  };
  // Most clients send their own event id; the rest get one derived from the content.
  if (rng() < 0.75) payload.event_id = `${run.id}:${call.index}`;
  if (rng() < w.promptShare) {
    payload.prompt = { excerpt: excerpt(rng, w), system_prompt_id: `sp-${w.workflow}-v3`, fingerprint: hex(rng, 16) };
  }
  // Some calls go through a proxy that reports what it charged.
  if (rng() < 0.1) payload.reported_cost_usd = (input * 2.5e-6 + output * 1e-5).toFixed(6);
  return payload;
}

/** `count` usage payloads as clients POST them: runs of 2–12 calls, in run order. */
export function usagePayloads(count: number, seed = 1): UsagePayload[] {
  const rng = random(seed);
  const payloads: UsagePayload[] = [];
  for (let r = 0; payloads.length < count; r++) {
    const workflow = pick(rng, WORKFLOWS);
    const run = {
      id: `run-${seed}-${r}-${hex(rng, 8)}`,
      trace: hex(rng, 32),
      startedAt: FLEET_EPOCH + r * 1_500,
      workflow,
      model: pickModel(rng),
      user: pick(rng, USERS),
      agent: pick(rng, workflow.agents),
    };
    const calls = between(rng, 2, 12);
    const rootSpan = hex(rng, 16);
    const cachedPrefix = 128 * between(rng, 4, 40);
    for (let index = 0; index < calls && payloads.length < count; index++) {
      const attempt = rng() < 0.03 ? 2 : 1;
      payloads.push(usagePayload(rng, run, { index, rootSpan, attempt, cachedPrefix }));
    }
  }
  return payloads;
}

/** The fleet in one line, with the shares measured on `payloads`. */
export function describeFleet(payloads: UsagePayload[]): string {
  const share = (test: (p: UsagePayload) => boolean) => `${Math.round((100 * payloads.filter(test).length) / payloads.length)}%`;
  const runs = new Set(payloads.map((p) => p.run_id)).size;
  return (
    `Events: a fleet of agent runs (${(payloads.length / runs).toFixed(1)} calls per run on average) over ` +
    `${MODELS.map((m) => `${m.provider} ${m.model}`).join(', ')}, in ${WORKFLOWS.length} workflows with tags, trace ids, ` +
    `cache and reasoning tokens; ${share((p) => p.prompt != null)} carry a ~200-byte prompt excerpt, ` +
    `${share((p) => p.event_id == null)} no event_id (ingest derives it).`
  );
}

/** Payloads as ingest publishes them: validated and normalized for `tenantId`. */
export function usageEvents(tenantId: string, payloads: UsagePayload[], receivedAt = Date.now()): UsageEvent[] {
  return payloads.map((payload, index) => {
    const result = validateUsage(payload);
    if (!result.ok) throw new Error(`fleet payload ${index} is invalid: ${JSON.stringify(result.errors)}`);
    return normalizeUsage(result.event, { tenantId, receivedAt });
  });
}

/**
 * The tenant's configuration for this fleet: ticket prefixes and a keyword rule (prompt tier),
 * a directory for most users (person tier), projects with capitalization stages, and a
 * negotiated discount on one model. Workflows without tags, tickets or keywords, run by users
 * the directory doesn't know, stay unattributed.
 */
export function fleetConfig(tenantId: string): ConfigEvent[] {
  const change = (kind: Parameters<typeof configChange>[0]['kind'], itemId: string, body: unknown): ConfigEvent =>
    configChange({ tenantId, kind, itemId, body, publishedBy: 'bench' });
  const development = { preliminary_until: Date.parse('2026-01-01'), development_until: Date.parse('2027-06-01') };
  return [
    change('price_override', 'gpt-4o-commit', { provider: 'openai', model: 'gpt-4o*', effective_from: 0, discount_pct: '12.5' }),
    change('project', 'payments', { class: 'capex_eligible', investment: 'payments-v2', stages: development }),
    change('project', 'core-platform', { class: 'capex_eligible', stages: development }),
    change('project', 'web', { class: 'opex' }),
    change('project', 'billing', { class: 'opex' }),
    change('project', 'support-bot', { class: 'opex' }),
    change('project', 'claims-ai', { class: 'capex_eligible', investment: 'ops-automation', stages: development }),
    change('ticket_prefix', 'PAY', { project: 'payments' }),
    change('ticket_prefix', 'CORE', { project: 'core-platform' }),
    change('ticket_prefix', 'WEB', { project: 'web' }),
    change('attribution_rule', 'billing-keywords', {
      priority: 10,
      when: [{ field: 'prompt', keywords: ['invoice', 'refund'] }],
      target: { project: 'billing', cost_center: 'cc-finance' },
    }),
    ...TEAMS.map((team, i) => change('directory_team', team, { cost_center: `cc-${team}`, default_project: i === 2 ? 'data-platform' : `${team}-tools` })),
    ...USERS.slice(0, KNOWN_USERS).map((user, i) => change('directory_user', user, { team: TEAMS[i % TEAMS.length]! })),
  ];
}
