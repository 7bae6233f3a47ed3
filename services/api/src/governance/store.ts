/**
 * Governance reads and writes in ClickHouse (0008_governance.sql), bound to one tenant: budget
 * burn and stop-loss window sums from the served projection of the facts (FINAL), and the
 * alerts, deliveries and reservations tables. Parameters are bound, never built into SQL; the
 * only interpolated names are fixed columns chosen from a closed set.
 */
import { clickHouseTime, type ClickHouseClient } from '@tokenledger/infra';
import { decimalToNanos, nanosToDecimal, type AlertEvent, type AlertTransition, type BudgetScope, type StopLossRule } from '@tokenledger/schemas';
import { emptyWindowSums, type WindowSums } from './stop-loss.js';

const allocColumn: Record<BudgetScope, string> = {
  project: '`alloc.project`', investment: '`alloc.investment`', team: '`alloc.team`', cost_center: '`alloc.cost_center`',
};

export interface AlertRow {
  tenant_id: string;
  alert_id: string;
  rule_id: string;
  rule_kind: string;
  rule_version: string | number;
  transition: AlertTransition;
  window_start: string;
  window_end: string;
  observed: string | null;
  threshold: string | null;
  message: string;
  created_at: string;
  published: number;
}

export interface DeliveryRow {
  tenant_id: string;
  alert_id: string;
  webhook_id: string;
  state: 'pending' | 'delivered';
  attempts: number;
  next_attempt_at: string;
  last_status: number;
  last_error: string;
  delivered_at: string | null;
}

/** A delivery's state with times as epoch ms. */
export interface Delivery {
  tenant_id: string;
  alert_id: string;
  webhook_id: string;
  state: 'pending' | 'delivered';
  attempts: number;
  nextAttemptAt: number;
  last_status: number;
  last_error: string;
  deliveredAt: number | null;
}

function deliveryOfRow(r: DeliveryRow): Delivery {
  return {
    tenant_id: r.tenant_id, alert_id: r.alert_id, webhook_id: r.webhook_id, state: r.state, attempts: Number(r.attempts),
    nextAttemptAt: epochOf(r.next_attempt_at), last_status: Number(r.last_status), last_error: r.last_error,
    deliveredAt: r.delivered_at === null ? null : epochOf(r.delivered_at),
  };
}

export interface ReservationRow {
  reservation_id: string;
  scope: BudgetScope;
  scope_key: string;
  estimated_cost_usd: string;
  created_at: string;
  expires_at: string;
}

/** ClickHouse DateTime64 text (UTC) → epoch ms. */
export const epochOf = (text: string): number => Date.parse(`${text.replace(' ', 'T')}Z`);

export function alertOfRow(r: AlertRow): AlertEvent {
  return {
    alert_id: r.alert_id, tenant_id: r.tenant_id, rule_id: r.rule_id, rule_kind: r.rule_kind, rule_version: Number(r.rule_version),
    transition: r.transition, window_start: epochOf(r.window_start), window_end: epochOf(r.window_end), observed: r.observed,
    threshold: r.threshold, message: r.message, created_at: epochOf(r.created_at),
  };
}

export class GovernanceStore {
  constructor(private readonly clickhouse: ClickHouseClient) {}

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    return (await this.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  }

  /** Σ cost allocated to `key` of `scope` in [from, to), nano-USD. */
  async burn(tenant: string, projection: number, scope: BudgetScope, key: string, from: number, to: number): Promise<bigint> {
    const column = allocColumn[scope];
    const [row] = await this.rows<{ burn: string }>(
      `SELECT toString(sum(arraySum(arrayFilter((cost, k) -> k = {key:String}, \`alloc.cost_usd\`, ${column})))) AS burn
       FROM usage_facts FINAL
       WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND has(${column}, {key:String})
         AND occurred_at >= {from:DateTime64(3)} AND occurred_at < {to:DateTime64(3)}`,
      { tenant, projection, key, from: clickHouseTime(from), to: clickHouseTime(to) },
    );
    return decimalToNanos(row?.burn ?? '0');
  }

  /** Sums a stop-loss rule reads over [from, to) (see stop-loss.ts for the scope rules). */
  async windowSums(tenant: string, projection: number, scope: StopLossRule['scope'], from: number, to: number): Promise<WindowSums> {
    const params: Record<string, unknown> = { tenant, projection, from: clickHouseTime(from), to: clickHouseTime(to) };
    const outcomeFilters = ['tenant_id = {tenant:String}', 'projection = {projection:UInt32}', 'occurred_at >= {from:DateTime64(3)}', 'occurred_at < {to:DateTime64(3)}'];
    if (scope.outcome_type !== undefined) {
      outcomeFilters.push('outcome_type = {outcome_type:String}');
      params.outcome_type = scope.outcome_type;
    }
    if (scope.project !== undefined) {
      outcomeFilters.push("tags['project'] = {project:String}");
      params.project = scope.project;
    }
    const [outcomes] = await this.rows<Record<string, string>>(
      `SELECT count() AS n, countIf(status = 'accepted') AS accepted_n, toString(sum(cost_usd)) AS cost_sum, toString(sum(retry_tax_usd)) AS retry_sum,
              countIf(baseline_cost_usd IS NOT NULL) AS baseline_n, toString(sum(ifNull(baseline_cost_usd, toDecimal128(0, 9)))) AS baseline_sum,
              toString(sumIf(cost_usd, baseline_cost_usd IS NOT NULL)) AS baseline_token_cost
       FROM outcome_facts FINAL WHERE ${outcomeFilters.join(' AND ')}`,
      params,
    );
    const sums = emptyWindowSums();
    if (outcomes) {
      Object.assign(sums, {
        outcomes: Number(outcomes.n ?? 0), accepted: Number(outcomes.accepted_n ?? 0), cost: decimalToNanos(outcomes.cost_sum ?? '0'),
        retryTax: decimalToNanos(outcomes.retry_sum ?? '0'), baselineOutcomes: Number(outcomes.baseline_n ?? 0),
        baseline: decimalToNanos(outcomes.baseline_sum ?? '0'), baselineTokenCost: decimalToNanos(outcomes.baseline_token_cost ?? '0'),
      });
    }
    if (scope.outcome_type === undefined) {
      const byProject = scope.project === undefined ? '' : `AND run_id IN (
          SELECT run_id FROM usage_facts FINAL
          WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND has(\`alloc.project\`, {project:String}))`;
      const [idle] = await this.rows<{ cost_sum: string; retry_sum: string }>(
        `SELECT toString(sum(cost_usd)) AS cost_sum, toString(sum(retry_tax_usd)) AS retry_sum
         FROM no_outcome_runs FINAL
         WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32}
           AND last_at >= {from:DateTime64(3)} AND last_at < {to:DateTime64(3)} ${byProject}`,
        params,
      );
      sums.noOutcomeCost = decimalToNanos(idle?.cost_sum ?? '0');
      sums.noOutcomeRetryTax = decimalToNanos(idle?.retry_sum ?? '0');
    }
    return sums;
  }

  // Alerts

  /** Each rule's latest alert transition. */
  async lastTransitions(tenant: string): Promise<Map<string, AlertTransition>> {
    const rows = await this.rows<{ rule_id: string; last: AlertTransition }>(
      `SELECT rule_id, argMax(transition, (created_at, alert_id)) AS last FROM alerts FINAL WHERE tenant_id = {tenant:String} GROUP BY rule_id`,
      { tenant },
    );
    return new Map(rows.map((r) => [r.rule_id, r.last]));
  }

  async existingAlertIds(tenant: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.rows<{ alert_id: string }>(
      'SELECT alert_id FROM alerts FINAL WHERE tenant_id = {tenant:String} AND alert_id IN {ids:Array(String)}', { tenant, ids },
    );
    return new Set(rows.map((r) => r.alert_id));
  }

  async insertAlerts(alerts: readonly AlertEvent[], published: boolean): Promise<void> {
    if (alerts.length === 0) return;
    await this.clickhouse.insert({
      table: 'alerts',
      format: 'JSONEachRow',
      values: alerts.map((a) => ({
        ...a, window_start: clickHouseTime(a.window_start), window_end: clickHouseTime(a.window_end), created_at: clickHouseTime(a.created_at),
        published: published ? 1 : 0,
      })),
    });
  }

  async unpublishedAlerts(): Promise<AlertEvent[]> {
    return (await this.rows<AlertRow>('SELECT * FROM alerts FINAL WHERE published = 0 ORDER BY created_at', {})).map(alertOfRow);
  }

  async listAlerts(tenant: string, filter: { ruleId?: string | undefined; limit: number }): Promise<AlertEvent[]> {
    const rows = await this.rows<AlertRow>(
      `SELECT * FROM alerts FINAL WHERE tenant_id = {tenant:String} ${filter.ruleId === undefined ? '' : 'AND rule_id = {rule:String}'}
       ORDER BY created_at DESC, alert_id LIMIT {limit:UInt32}`,
      { tenant, rule: filter.ruleId ?? '', limit: filter.limit },
    );
    return rows.map(alertOfRow);
  }

  // Deliveries

  async writeDeliveries(rows: readonly Delivery[]): Promise<void> {
    if (rows.length === 0) return;
    await this.clickhouse.insert({
      table: 'alert_deliveries',
      format: 'JSONEachRow',
      values: rows.map(({ nextAttemptAt, deliveredAt, ...r }) => ({
        ...r, next_attempt_at: clickHouseTime(nextAttemptAt), delivered_at: deliveredAt === null ? null : clickHouseTime(deliveredAt),
      })),
    });
  }

  /** Pending deliveries due at `now`, each with its alert. */
  async dueDeliveries(now: number, limit = 500): Promise<{ delivery: Delivery; alert: AlertEvent }[]> {
    const due = (await this.rows<DeliveryRow>(
      `SELECT * FROM alert_deliveries FINAL WHERE state = 'pending' AND next_attempt_at <= {now:DateTime64(3)} ORDER BY next_attempt_at LIMIT {limit:UInt32}`,
      { now: clickHouseTime(now), limit },
    )).map(deliveryOfRow);
    if (due.length === 0) return [];
    const alerts = (await this.rows<AlertRow>('SELECT * FROM alerts FINAL WHERE alert_id IN {ids:Array(String)}', { ids: [...new Set(due.map((d) => d.alert_id))] }))
      .map(alertOfRow);
    const byId = new Map(alerts.map((a) => [`${a.tenant_id}/${a.alert_id}`, a]));
    return due.flatMap((delivery) => {
      const alert = byId.get(`${delivery.tenant_id}/${delivery.alert_id}`);
      return alert ? [{ delivery, alert }] : [];
    });
  }

  async deliveries(tenant: string, alertIds: readonly string[]): Promise<Delivery[]> {
    if (alertIds.length === 0) return [];
    return (await this.rows<DeliveryRow>(
      'SELECT * FROM alert_deliveries FINAL WHERE tenant_id = {tenant:String} AND alert_id IN {ids:Array(String)}', { tenant, ids: alertIds },
    )).map(deliveryOfRow);
  }

  // Reservations

  async insertReservation(tenant: string, r: { id: string; scope: BudgetScope; key: string; estimateNano: bigint; createdAt: number; expiresAt: number }): Promise<void> {
    await this.clickhouse.insert({
      table: 'budget_reservations',
      format: 'JSONEachRow',
      values: [{
        tenant_id: tenant, reservation_id: r.id, scope: r.scope, scope_key: r.key, estimated_cost_usd: nanosToDecimal(r.estimateNano),
        created_at: clickHouseTime(r.createdAt), expires_at: clickHouseTime(r.expiresAt),
      }],
    });
  }

  /** Reservations of an envelope key not expired at `now` and not settled by a usage fact tagged with their id. */
  async activeReservations(tenant: string, projection: number, scope: BudgetScope, key: string, now: number): Promise<ReservationRow[]> {
    return this.rows<ReservationRow>(
      `SELECT reservation_id, scope, scope_key, toString(estimated_cost_usd) AS estimated_cost_usd, created_at, expires_at
       FROM budget_reservations FINAL
       WHERE tenant_id = {tenant:String} AND scope = {scope:String} AND scope_key = {key:String} AND expires_at > {now:DateTime64(3)}
         AND reservation_id NOT IN (
           SELECT tags['reservation_id'] FROM usage_facts FINAL
           WHERE tenant_id = {tenant:String} AND projection = {projection:UInt32} AND tags['reservation_id'] != '')`,
      { tenant, projection, scope, key, now: clickHouseTime(now) },
    );
  }
}
