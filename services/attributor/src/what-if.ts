import type { ClickHouseClient } from '@tokenledger/infra';
import { decimalToNanos, nanosToDecimal } from '@tokenledger/schemas';

export interface SpendShift {
  key: string;
  before_usd: string;
  after_usd: string;
  delta_usd: string;
}

export interface OutcomeMove {
  from_project: string;
  to_project: string;
  outcomes: number;
}

/** How a tenant's numbers would change from one projection to another (a replay's dry run). */
export interface WhatIfReport {
  tenant_id: string;
  from_projection: number;
  to_projection: number;
  total: SpendShift;
  /** Only the keys whose spend changes. */
  by_project: SpendShift[];
  by_attribution_tier: SpendShift[];
  by_capex_class: SpendShift[];
  /** Outcomes whose main project (the one with most of their runs' cost) changes. */
  outcomes_moved: OutcomeMove[];
  outcomes_moved_total: number;
}

type SpendRow = { tenant_id: string; key: string; projection: number; cost: string };

async function rows<T>(clickhouse: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  return (await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
}

function shifts(spend: SpendRow[], before: number, after: number): Map<string, SpendShift[]> {
  const byTenant = new Map<string, Map<string, { before: bigint; after: bigint }>>();
  for (const r of spend) {
    const tenant = byTenant.get(r.tenant_id) ?? new Map<string, { before: bigint; after: bigint }>();
    const entry = tenant.get(r.key) ?? { before: 0n, after: 0n };
    if (Number(r.projection) === before) entry.before += decimalToNanos(r.cost);
    if (Number(r.projection) === after) entry.after += decimalToNanos(r.cost);
    tenant.set(r.key, entry);
    byTenant.set(r.tenant_id, tenant);
  }
  return new Map([...byTenant].map(([tenant, keys]) => [tenant, [...keys]
    .map(([key, v]) => ({ key, before_usd: nanosToDecimal(v.before), after_usd: nanosToDecimal(v.after), delta_usd: nanosToDecimal(v.after - v.before) }))
    .sort((a, b) => a.key.localeCompare(b.key))]));
}

/** Compares two projections for every tenant in them. */
export async function whatIf(clickhouse: ClickHouseClient, before: number, after: number): Promise<WhatIfReport[]> {
  const params = { before, after };
  const spendBy = async (column: string) => shifts(await rows<SpendRow>(clickhouse,
    `SELECT tenant_id, ${column} AS key, projection, toString(sum(cost_usd)) AS cost
     FROM usage_facts FINAL ARRAY JOIN alloc.project AS project, alloc.capex_class AS capex_class, alloc.cost_usd AS cost_usd
     WHERE projection IN ({before:UInt32}, {after:UInt32})
     GROUP BY tenant_id, key, projection`, params), before, after);
  const total = await spendBy("''");
  const byProject = await spendBy('project');
  const byTier = await spendBy('attribution_tier');
  const byCapex = await spendBy('capex_class');

  const mains = await rows<{ tenant_id: string; outcome_id: string; projection: number; project: string }>(clickhouse,
    `SELECT tenant_id, outcome_id, projection, argMax(project, cost) AS project FROM (
       SELECT u.tenant_id AS tenant_id, c.outcome_id AS outcome_id, u.projection AS projection, pc.1 AS project, sum(pc.2) AS cost
       FROM usage_facts AS u FINAL
       ARRAY JOIN arrayZip(u.alloc.project, u.alloc.cost_usd) AS pc
       INNER JOIN (SELECT DISTINCT tenant_id, run_id, outcome_id FROM outcome_claims) AS c
         ON c.tenant_id = u.tenant_id AND c.run_id = u.run_id
       WHERE u.projection IN ({before:UInt32}, {after:UInt32})
       GROUP BY tenant_id, outcome_id, projection, project
     ) GROUP BY tenant_id, outcome_id, projection`, params);
  const moves = new Map<string, Map<string, { from?: string; to?: string }>>();
  for (const m of mains) {
    const tenant = moves.get(m.tenant_id) ?? new Map<string, { from?: string; to?: string }>();
    const entry = tenant.get(m.outcome_id) ?? {};
    if (Number(m.projection) === before) entry.from = m.project;
    else entry.to = m.project;
    tenant.set(m.outcome_id, entry);
    moves.set(m.tenant_id, tenant);
  }

  const changed = (list: SpendShift[] | undefined) => (list ?? []).filter((s) => s.delta_usd !== '0');
  const tenants = new Set([...total.keys(), ...moves.keys()]);
  return [...tenants].map((tenantId): WhatIfReport => {
    const counted = new Map<string, OutcomeMove>();
    for (const { from, to } of moves.get(tenantId)?.values() ?? []) {
      if (from === undefined || to === undefined || from === to) continue;
      const key = `${from}\u0000${to}`;
      const move = counted.get(key) ?? { from_project: from, to_project: to, outcomes: 0 };
      move.outcomes += 1;
      counted.set(key, move);
    }
    const outcomesMoved = [...counted.values()].sort((a, b) => b.outcomes - a.outcomes);
    return {
      tenant_id: tenantId,
      from_projection: before,
      to_projection: after,
      total: total.get(tenantId)?.[0] ?? { key: '', before_usd: '0', after_usd: '0', delta_usd: '0' },
      by_project: changed(byProject.get(tenantId)),
      by_attribution_tier: changed(byTier.get(tenantId)),
      by_capex_class: changed(byCapex.get(tenantId)),
      outcomes_moved: outcomesMoved,
      outcomes_moved_total: outcomesMoved.reduce((sum, m) => sum + m.outcomes, 0),
    };
  });
}
