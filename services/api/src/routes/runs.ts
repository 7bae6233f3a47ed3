import { z } from 'zod';
import { sumUsd } from '../money.js';
import { defineRoute, RequestError } from '../route.js';

const params = z.strictObject({
  run_id: z.string().min(1, { error: 'must not be empty' }).max(256, { error: 'must be at most 256 characters' }),
});

const entry = z.object({
  occurred_at: z.string().describe('RFC 3339, UTC, milliseconds'),
  entry: z.enum(['call', 'outcome']),
  event_id: z.string(),
  kind: z.string().describe("The call's operation (chat, tool, ...), or 'outcome'"),
  step: z.string(),
  attempt: z.number().describe('0 for outcome entries'),
  status: z.string().describe('Call status (ok, error, ...) or outcome status (accepted, rejected, ...)'),
  provider: z.string(),
  model: z.string(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.string().describe('Exact decimal USD; 0 for outcome entries'),
  wasted: z.boolean().describe('A failed call, or one a later attempt of the same step superseded'),
  outcome_id: z.string(),
  outcome_type: z.string(),
});

const response = z.object({
  run_id: z.string(),
  summary: z.object({
    calls: z.number(),
    cost_usd: z.string(),
    retry_tax_usd: z.string().describe('Σ cost of the wasted calls'),
    outcomes: z.number().describe('Distinct outcomes that claim the run'),
  }),
  entries: z.array(entry),
});

type LedgerRow = {
  occurred_at: string; entry: 'call' | 'outcome'; event_id: string; kind: string; step: string; attempt: number; status: string;
  provider: string; model: string; input_tokens: string; output_tokens: string; cost: string; outcome_id: string; outcome_type: string;
};

/**
 * The joiner's waste rule (services/outcome-joiner/src/join.ts) applied to one run's calls: a call
 * is wasted if it did not succeed, or if a later attempt of the same step ('' for none) exists.
 */
function wastedEventIds(calls: readonly LedgerRow[]): Set<string> {
  const lastAttempt = new Map<string, number>();
  for (const c of calls) lastAttempt.set(c.step, Math.max(lastAttempt.get(c.step) ?? 0, c.attempt));
  return new Set(calls.filter((c) => c.status !== 'ok' || c.attempt < (lastAttempt.get(c.step) ?? c.attempt)).map((c) => c.event_id));
}

export const runRoute = defineRoute({
  method: 'GET',
  path: '/v1/runs/:run_id',
  summary: "A run's trail: every call, retry and outcome in time order, with cost",
  tags: ['runs'],
  roles: ['query', 'admin'],
  query: z.strictObject({}),
  params,
  response,
  async handler({ reader, params: p }) {
    const rows = await reader.rows<LedgerRow>(
      `SELECT occurred_at, entry, event_id, kind, step, attempt, status, provider, model, input_tokens, output_tokens,
              toString(cost_usd) AS cost, outcome_id, outcome_type
       FROM run_ledger
       WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND run_id = {run_id:String}
       ORDER BY occurred_at, entry, event_id`,
      { run_id: p.run_id },
    );
    if (rows.length === 0) throw new RequestError(404, `no run ${JSON.stringify(p.run_id)}`);
    const calls = rows.filter((r) => r.entry === 'call');
    const wasted = wastedEventIds(calls);
    const costOf = (list: readonly LedgerRow[]) => sumUsd(list.map((r) => r.cost));
    return {
      run_id: p.run_id,
      summary: {
        calls: calls.length,
        cost_usd: costOf(calls),
        retry_tax_usd: costOf(calls.filter((c) => wasted.has(c.event_id))),
        outcomes: new Set(rows.filter((r) => r.entry === 'outcome').map((r) => r.outcome_id)).size,
      },
      entries: rows.map(({ cost, ...r }) => ({
        ...r,
        occurred_at: `${r.occurred_at.replace(' ', 'T')}Z`,
        input_tokens: Number(r.input_tokens),
        output_tokens: Number(r.output_tokens),
        cost_usd: cost,
        wasted: r.entry === 'call' && wasted.has(r.event_id),
      })),
    };
  },
});
