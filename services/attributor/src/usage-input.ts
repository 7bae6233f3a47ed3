/** Prompt metadata carried by a usage event. The excerpt is only scanned, never copied to outputs. */
export interface UsagePrompt {
  excerpt: string | null;
  system_prompt_id: string | null;
  fingerprint: string | null;
}

/**
 * One normalized LLM call, as the attributor consumes it.
 * Structurally compatible with the ingest service's normalized event.
 */
export interface UsageInput {
  tenant_id: string;
  event_id: string;
  /** Epoch milliseconds. */
  occurred_at: number;
  provider: string;
  model: string;
  operation: string;
  /** Whole input, including cache reads and cache writes. */
  input_tokens: number;
  /** Includes reasoning tokens. */
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  run_id: string;
  workflow: string | null;
  agent: string | null;
  step: string | null;
  user_id: string | null;
  tags: Record<string, string>;
  prompt: UsagePrompt | null;
  /** Cost the provider or SDK reported, as a decimal USD string. */
  reported_cost_usd: string | null;
}
