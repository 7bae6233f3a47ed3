import { z } from 'zod';
import { budgetScopes } from '@tokenledger/schemas';
import type { Reservations } from '../governance/budgets.js';
import { budgetStatuses } from '../governance/budgets.js';
import type { GovernanceStore } from '../governance/store.js';
import type { GovernanceConfigs } from '../governance/types.js';
import { defineRoute, RequestError } from '../route.js';

export interface GovernanceRouteDeps {
  store: GovernanceStore;
  configs: GovernanceConfigs;
  reservations: Reservations;
  clock: { now(): number };
}

const usd = z.string().describe('Exact decimal USD');
const budgetStatusSchema = z.object({
  budget_id: z.string(), scope: z.enum(budgetScopes), key: z.string(), period: z.enum(['month', 'quarter']),
  period_start: z.string(), period_end: z.string(), value_owner: z.string(), version: z.number().describe('Config version of the budget'),
  amount_usd: usd, burn_usd: usd.describe('Allocated cost in the period so far'),
  burn_rate_usd_per_day: usd.describe('Linear run-rate: burn ÷ elapsed part of the period (at least one day)'),
  forecast_usd: usd.describe('burn + rate × time left in the period'), reserved_usd: usd.describe('Active reservations (not settled, not expired)'),
  remaining_usd: usd.describe('amount − burn − reserved'), burn_share: z.number().nullable(), warn_at_pct: z.number().nullable(),
  warning: z.boolean().describe('Forecast over the amount, or burn past warn_at_pct'), over: z.boolean().describe('Burn reached the amount'),
});

const reserveBody = z.strictObject({
  scope: z.enum(budgetScopes),
  key: z.string().min(1).max(256),
  estimated_cost_usd: z.string().regex(/^\d+(\.\d{1,9})?$/, 'a non-negative decimal string (USD, up to 9 decimals)'),
  ttl_seconds: z.number().int().min(1).max(86_400).default(300),
});

const alertSchema = z.object({
  alert_id: z.string(), rule_id: z.string(), rule_kind: z.string(), rule_version: z.number(), transition: z.enum(['trip', 'clear']),
  window_start: z.string(), window_end: z.string(), observed: z.string().nullable(), threshold: z.string().nullable(), message: z.string(), created_at: z.string(),
});

/** Budgets, reservations and alerts (see governance/). */
export function governanceRoutes(g: GovernanceRouteDeps) {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/budgets',
      summary: 'Every budget envelope: amount, burn to date, burn rate, forecast to period end, reserved, remaining, warning and over flags',
      tags: ['governance'],
      roles: ['query', 'admin'],
      query: z.strictObject({}),
      response: z.object({ as_of: z.string(), budgets: z.array(budgetStatusSchema) }),
      async handler({ reader, tenantId }) {
        const now = g.clock.now();
        const statuses = await budgetStatuses(g.store, g.configs.tenant(tenantId), reader.projection, now);
        return { as_of: new Date(now).toISOString(), budgets: statuses.map((s) => s.status) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/budgets/reserve',
      summary: 'Reserve an estimated cost against the envelopes of a project, investment, team or cost center: allow (with a reservation id) or deny',
      tags: ['governance'],
      roles: ['ingest', 'admin'],
      body: reserveBody,
      response: z.object({
        allowed: z.boolean(), reservation_id: z.string().nullable().describe('Tag the usage event with tags.reservation_id to settle it'),
        expires_at: z.string().nullable(),
        envelopes: z.array(z.object({ budget_id: z.string(), remaining_usd: usd.describe('Before this reservation'), fits: z.boolean() })),
      }),
      async handler({ request, reader, tenantId }) {
        const parsed = reserveBody.safeParse(request.body ?? {});
        if (!parsed.success) {
          const errors = parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.message }));
          throw new RequestError(400, `invalid body: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
        }
        const b = parsed.data;
        const answer = await g.reservations.reserve(
          g.configs.tenant(tenantId), reader.projection,
          { scope: b.scope, key: b.key, estimatedCostUsd: b.estimated_cost_usd, ttlSeconds: b.ttl_seconds }, () => g.clock.now(),
        );
        if (!answer.found) throw new RequestError(404, `no budget for ${b.scope} ${b.key}`);
        const { found: _found, ...rest } = answer;
        return rest;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/alerts',
      summary: 'Budget and stop-loss alerts sent, newest first',
      tags: ['governance'],
      roles: ['query', 'admin'],
      query: z.strictObject({
        rule_id: z.string().min(1).max(256).optional(),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
      response: z.object({ alerts: z.array(alertSchema) }),
      async handler({ query: q, tenantId }) {
        const alerts = await g.store.listAlerts(tenantId, { ruleId: q.rule_id, limit: q.limit });
        const iso = (ms: number) => new Date(ms).toISOString();
        return {
          alerts: alerts.map(({ tenant_id: _t, ...a }) => ({ ...a, window_start: iso(a.window_start), window_end: iso(a.window_end), created_at: iso(a.created_at) })),
        };
      },
    }),
  ];
}
