/**
 * The reference JoinStore, in memory, for tests: it keeps every usage call and outcome event as it
 * arrives (duplicates included, as an append-only table would before merges) and derives claims
 * from each outcome's events with `claimsFromEvents`, exactly as a durable store must.
 */
import type { Changes, JoinStore } from './engine.js';
import { claimsFromEvents } from './join.js';
import type { OutcomeRecord, RunClaim, UsageCall } from './model.js';

export class MemoryJoinStore implements JoinStore {
  /** tenant → run → calls, in arrival order. */
  private readonly calls = new Map<string, Map<string, UsageCall[]>>();
  /** tenant → outcome → events, in arrival order. */
  private readonly events = new Map<string, Map<string, OutcomeRecord[]>>();
  /** tenant → run → outcomes that have listed it in some event. */
  private readonly claimants = new Map<string, Map<string, Set<string>>>();

  /** Stores a call; returns the change it implies (its run). */
  addUsage(tenantId: string, call: UsageCall): Changes {
    append(tenantMap(this.calls, tenantId), call.run_id, call);
    return { tenantId, runIds: [call.run_id], outcomeIds: [] };
  }

  /** Stores an outcome event; returns the change it implies (its outcome). */
  addOutcomeEvent(tenantId: string, event: OutcomeRecord): Changes {
    append(tenantMap(this.events, tenantId), event.outcome_id, event);
    const claimants = tenantMap(this.claimants, tenantId);
    for (const runId of event.run_ids) {
      const outcomes = claimants.get(runId) ?? new Set<string>();
      outcomes.add(event.outcome_id);
      claimants.set(runId, outcomes);
    }
    return { tenantId, runIds: [], outcomeIds: [event.outcome_id] };
  }

  async claimsOfRuns(tenantId: string, runIds: string[]): Promise<Map<string, RunClaim[]>> {
    const claimants = this.claimants.get(tenantId);
    const events = this.events.get(tenantId);
    return new Map(
      runIds.map((runId) => {
        const outcomeIds = [...(claimants?.get(runId) ?? [])];
        const claims = outcomeIds.map((outcomeId) => ({
          outcome_id: outcomeId,
          weight: claimsFromEvents(events?.get(outcomeId) ?? []).get(runId) ?? 1,
        }));
        return [runId, claims];
      }),
    );
  }

  async outcomeEvents(tenantId: string, outcomeIds: string[]): Promise<Map<string, OutcomeRecord[]>> {
    return pick(this.events.get(tenantId), outcomeIds);
  }

  async usageOfRuns(tenantId: string, runIds: string[]): Promise<Map<string, UsageCall[]>> {
    return pick(this.calls.get(tenantId), runIds);
  }
}

function tenantMap<V>(byTenant: Map<string, Map<string, V>>, tenantId: string): Map<string, V> {
  const map = byTenant.get(tenantId) ?? new Map<string, V>();
  byTenant.set(tenantId, map);
  return map;
}

function append<T>(map: Map<string, T[]>, key: string, item: T): void {
  const items = map.get(key) ?? [];
  items.push(item);
  map.set(key, items);
}

/** Copies of the stored lists of the requested keys; keys with nothing stored are absent. */
function pick<T>(map: Map<string, T[]> | undefined, keys: string[]): Map<string, T[]> {
  const picked = new Map<string, T[]>();
  for (const key of keys) {
    const items = map?.get(key);
    if (items) picked.set(key, [...items]);
  }
  return picked;
}
