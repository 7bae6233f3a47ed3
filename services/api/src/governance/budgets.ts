/**
 * Budget envelopes over ClickHouse: every envelope's status (GET /v1/budgets, the evaluator) and
 * reservation decisions (POST /v1/budgets/reserve). The arithmetic is budget.ts; this is the edge.
 *
 * Reservations: a decision reads burn and the envelope key's active reservations from ClickHouse
 * and, when allowed, writes the reservation there before answering, all under a per-(tenant,
 * envelope key) lock (KeyedMutex), so parallel callers see each other's reservations and cannot
 * overshoot together; a restart keeps them (they are in ClickHouse). The lock is per process:
 * with several api instances, reservations for an envelope must go to a single owner (route them
 * to one instance, or to the consumer that owns the envelope's partition of a Kafka topic).
 * A reservation counts until a usage fact tagged `reservation_id: <id>` exists (its real cost is
 * then in the burn) or until it expires.
 */
import { randomUUID } from 'node:crypto';
import { decimalToNanos, nanosToDecimal, type Budget, type BudgetScope, type TenantConfig } from '@tokenledger/schemas';
import { budgetStatus, periodOf, reservationFits, type BudgetStatus } from './budget.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { GovernanceStore } from './store.js';

export async function reservedNano(store: GovernanceStore, tenant: string, projection: number, scope: BudgetScope, key: string, now: number): Promise<bigint> {
  const active = await store.activeReservations(tenant, projection, scope, key, now);
  return active.reduce((sum, r) => sum + decimalToNanos(r.estimated_cost_usd), 0n);
}

/** The status of each of the tenant's envelopes at `now`, ordered by id. */
export async function budgetStatuses(store: GovernanceStore, config: TenantConfig, projection: number, now: number): Promise<{ budget: Budget; status: BudgetStatus }[]> {
  const reserved = new Map<string, Promise<bigint>>();
  const entries = [...config.budgets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(entries.map(async ([id, budget]) => {
    const period = periodOf(budget.period, now);
    const envelopeKey = `${budget.scope}\u0000${budget.key}`;
    if (!reserved.has(envelopeKey)) reserved.set(envelopeKey, reservedNano(store, config.tenantId, projection, budget.scope, budget.key, now));
    const [burnNano, reservedSum] = await Promise.all([
      store.burn(config.tenantId, projection, budget.scope, budget.key, period.start, now),
      reserved.get(envelopeKey)!,
    ]);
    return { budget, status: budgetStatus(id, budget, { burnNano, reservedNano: reservedSum }, now) };
  }));
}

export interface ReserveRequest {
  scope: BudgetScope;
  key: string;
  estimatedCostUsd: string;
  ttlSeconds: number;
}

export type ReserveAnswer =
  | { found: false }
  | { found: true; allowed: boolean; reservation_id: string | null; expires_at: string | null; envelopes: { budget_id: string; remaining_usd: string; fits: boolean }[] };

export class Reservations {
  private readonly lock = new KeyedMutex();

  constructor(private readonly store: GovernanceStore) {}

  reserve(config: TenantConfig, projection: number, request: ReserveRequest, now: () => number): Promise<ReserveAnswer> {
    const envelopes = [...config.budgets].filter(([, b]) => b.scope === request.scope && b.key === request.key);
    if (envelopes.length === 0) return Promise.resolve({ found: false });
    return this.lock.run(`${config.tenantId}\u0000${request.scope}\u0000${request.key}`, async () => {
      const at = now();
      const estimate = decimalToNanos(request.estimatedCostUsd);
      const reservedSum = await reservedNano(this.store, config.tenantId, projection, request.scope, request.key, at);
      const checked = await Promise.all(envelopes.map(async ([id, budget]) => {
        const period = periodOf(budget.period, at);
        const burnNano = await this.store.burn(config.tenantId, projection, budget.scope, budget.key, period.start, at);
        const figures = { burnNano, reservedNano: reservedSum };
        const remaining = decimalToNanos(budget.amount_usd) - burnNano - reservedSum;
        return { budget_id: id, remaining_usd: nanosToDecimal(remaining), fits: reservationFits(budget, figures, estimate) };
      }));
      const allowed = checked.every((c) => c.fits);
      if (!allowed) return { found: true, allowed, reservation_id: null, expires_at: null, envelopes: checked };
      const id = `rsv_${randomUUID()}`;
      const expiresAt = at + request.ttlSeconds * 1_000;
      await this.store.insertReservation(config.tenantId, { id, scope: request.scope, key: request.key, estimateNano: estimate, createdAt: at, expiresAt });
      return { found: true, allowed, reservation_id: id, expires_at: new Date(expiresAt).toISOString(), envelopes: checked };
    });
  }
}
