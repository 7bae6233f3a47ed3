/**
 * What the outcome joiner reads (priced usage calls, outcome events) and what it writes (one fact
 * per outcome, one per run that no outcome claims). Plain data: money in nano-USD as bigint,
 * times in epoch milliseconds.
 */

/** The token counts a usage call reports, one field per kind. */
export const tokenKinds = ['input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens'] as const;
export type TokenKind = (typeof tokenKinds)[number];

/** One priced LLM call of a run (a row of usage_facts). */
export interface UsageCall {
  event_id: string;
  run_id: string;
  /** Epoch milliseconds. */
  occurred_at: number;
  provider: string;
  model: string;
  /** '' when the call names none. */
  workflow: string;
  /** '' when the call names no step. */
  step: string;
  /** 1 for a first try, 2 for the first retry, ... */
  attempt: number;
  /** ok | error | timeout | cancelled */
  status: string;
  cost_nano: bigint;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
}

/** One outcome event. An outcome may have several: e.g. rejected, then reworked, then accepted. */
export interface OutcomeRecord {
  event_id: string;
  outcome_id: string;
  outcome_type: string;
  /** Epoch milliseconds. */
  occurred_at: number;
  /** accepted | rejected | reworked | escalated | abandoned */
  status: string;
  run_ids: string[];
  /** Relative weight of this outcome on each of its runs; a run missing here weighs 1. */
  run_weights: Record<string, number> | null;
  value_nano: bigint | null;
  baseline_cost_nano: bigint | null;
  /** Thousandths of a minute. */
  human_milliminutes: number | null;
  quality: number | null;
  tags: Record<string, string>;
}

/** How much of a run an outcome claims (weight from the outcome's latest event's run_weights, default 1). */
export interface RunClaim {
  outcome_id: string;
  weight: number;
}

/** Token counts by kind, summed (or split) exactly. */
export type TokenTotals = Record<TokenKind, bigint>;

/**
 * Token-to-outcome fact: everything the outcome's runs spent (its share of each run), and what the
 * outcome returned. One per (tenant, outcome); a newer fact for the same outcome replaces the old.
 */
export interface OutcomeFact extends TokenTotals {
  tenant_id: string;
  outcome_id: string;
  /** From the latest event. */
  outcome_type: string;
  /** From the latest event. */
  status: string;
  /** When the latest event happened. */
  occurred_at: number;
  /** When the earliest event happened. */
  first_occurred_at: number;
  /** Distinct events (by event_id). */
  event_count: number;
  /** Union of run_ids over all events, sorted. */
  run_ids: string[];
  /** This outcome's share of its runs' LLM calls. */
  calls: number;
  /** Highest attempt number over all calls of its runs; 0 while there is no usage. */
  attempts: number;
  /** Σ over its runs of the distinct attempt numbers that contain a wasted call. */
  failed_attempts: number;
  /** Accepted, no retry (attempts ≤ 1) and no wasted call. */
  first_pass: boolean;
  /** This outcome's share of its runs' cost. */
  cost_nano: bigint;
  /** This outcome's share of its runs' wasted cost (failed calls and superseded attempts). */
  retry_tax_nano: bigint;
  /** Distinct models over its runs' calls, sorted. */
  models: string[];
  /**
   * The (workflow, model) its runs' calls spent the most on (whole runs, not its share; ties to
   * the greater workflow, then model, in byte order); '' and '' without usage. Model routing reads it.
   */
  primary_workflow: string;
  primary_model: string;
  human_milliminutes: number | null;
  /** Loaded human cost: set when both a human rate is configured and human_milliminutes is. */
  human_cost_nano: bigint | null;
  baseline_cost_nano: bigint | null;
  value_nano: bigint | null;
  /** value − cost − human cost (0 without a rate); null without a value. */
  net_value_nano: bigint | null;
  quality: number | null;
  tags: Record<string, string>;
  /** Latest call of its runs; null while there is no usage. */
  last_usage_at: number | null;
}

/** A run's whole spend: written for runs that no outcome claims ("spend with no outcome"). */
export interface RunFact extends TokenTotals {
  tenant_id: string;
  run_id: string;
  calls: number;
  cost_nano: bigint;
  retry_tax_nano: bigint;
  /** Distinct models, sorted. */
  models: string[];
  /** Earliest call. */
  first_at: number;
  /** Latest call. */
  last_at: number;
}
