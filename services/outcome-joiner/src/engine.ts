/**
 * Incremental join: after some usage calls and outcome events have been stored, which outcome
 * facts change, and what are they now. Independent of where the join state lives: the store answers
 * from everything stored so far (duplicates included), and every fact is recomputed from that whole
 * state, so the facts end the same whatever the arrival order, duplicates and redeliveries.
 */
import { claimsFromEvents, compareIds, joinOutcome } from './join.js';
import type { OutcomeFact, OutcomeRecord, RunClaim, UsageCall } from './model.js';

export { claimsFromEvents };

/** The join state, as the engine reads it. A requested key with nothing stored may map to [] or be absent. */
export interface JoinStore {
  /** All outcomes claiming each run (with their weights, as `claimsFromEvents` derives them). */
  claimsOfRuns(tenantId: string, runIds: string[]): Promise<Map<string, RunClaim[]>>;
  /** All events of each outcome. */
  outcomeEvents(tenantId: string, outcomeIds: string[]): Promise<Map<string, OutcomeRecord[]>>;
  /** All calls of each run. */
  usageOfRuns(tenantId: string, runIds: string[]): Promise<Map<string, UsageCall[]>>;
}

/** What was stored since the last recompute: runs with new calls, outcomes with new events. */
export interface Changes {
  tenantId: string;
  runIds: string[];
  outcomeIds: string[];
}

export interface Recomputed {
  /** Facts to (re)write, in outcome_id order; each replaces the outcome's previous fact. */
  outcomes: OutcomeFact[];
  /** Changed runs no outcome claims (yet): with the horizon, the caller decides if they are spend with no outcome. */
  runsWithoutOutcome: string[];
}

const unique = (ids: Iterable<string>): string[] => [...new Set(ids)].sort(compareIds);

/**
 * The outcome facts that change with `changes`:
 * - every outcome claiming a changed run (its share of that run's calls changed);
 * - every changed outcome (its state, runs or weights changed);
 * - every other outcome claiming a run of a changed outcome: when an outcome starts claiming a
 *   run or changes its weight on it, the shares of the run's co-claimants change too.
 * Nothing else can change: a fact reads only its own events, its runs' calls and its runs' claims.
 */
export async function recompute(store: JoinStore, changes: Changes, humanRateNanoPerHour: bigint | null): Promise<Recomputed> {
  const { tenantId } = changes;
  const changedRuns = unique(changes.runIds);
  const changedOutcomes = unique(changes.outcomeIds);

  const claims = new Map<string, RunClaim[]>();
  const events = new Map<string, OutcomeRecord[]>();
  const loadClaims = async (runIds: string[]): Promise<void> => {
    const missing = runIds.filter((runId) => !claims.has(runId));
    if (missing.length === 0) return;
    const found = await store.claimsOfRuns(tenantId, missing);
    for (const runId of missing) claims.set(runId, found.get(runId) ?? []);
  };
  const loadEvents = async (outcomeIds: string[]): Promise<void> => {
    const missing = outcomeIds.filter((outcomeId) => !events.has(outcomeId));
    if (missing.length === 0) return;
    const found = await store.outcomeEvents(tenantId, missing);
    for (const outcomeId of missing) events.set(outcomeId, found.get(outcomeId) ?? []);
  };
  const runsOf = (outcomeIds: Iterable<string>): string[] =>
    unique([...outcomeIds].flatMap((outcomeId) => [...claimsFromEvents(events.get(outcomeId) ?? []).keys()]));
  const claimantsOf = (runIds: string[]): string[] => runIds.flatMap((runId) => (claims.get(runId) ?? []).map((claim) => claim.outcome_id));

  await Promise.all([loadClaims(changedRuns), loadEvents(changedOutcomes)]);
  const runsOfChanged = runsOf(changedOutcomes);
  await loadClaims(runsOfChanged);

  const affected = unique([...changedOutcomes, ...claimantsOf(changedRuns), ...claimantsOf(runsOfChanged)]);
  await loadEvents(affected);
  const joined = affected.filter((outcomeId) => (events.get(outcomeId) ?? []).length > 0);
  const runs = runsOf(joined);
  const [usage] = await Promise.all([runs.length > 0 ? store.usageOfRuns(tenantId, runs) : new Map<string, UsageCall[]>(), loadClaims(runs)]);

  return {
    outcomes: joined.map((outcomeId) => joinOutcome(tenantId, events.get(outcomeId) ?? [], usage, claims, humanRateNanoPerHour)),
    runsWithoutOutcome: changedRuns.filter((runId) => (claims.get(runId) ?? []).length === 0),
  };
}
