/**
 * Raw `usage` objects as providers return them, read into OpenTelemetry GenAI token counts:
 * input_tokens is the whole input (cache reads and writes included), output_tokens the whole
 * output (reasoning included).
 */
import { z } from 'zod';
import { expecting, nonNegativeInteger } from './fields.js';

export interface TokenCounts {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
}
export type TokenField = keyof TokenCounts;

const optionalCount = nonNegativeInteger.nullish();
const anObject = { error: expecting('an object') };

/**
 * The union of the fields we price on across flavors. Not strict, unlike the event itself:
 * clients pass these objects through verbatim, and providers keep adding fields we don't
 * price on (total_tokens, audio_tokens, service_tier, ...).
 */
export const providerUsageSchema = z.object(
  {
    // OpenAI chat completions (and embeddings, which omit completion_tokens)
    prompt_tokens: optionalCount,
    completion_tokens: optionalCount,
    prompt_tokens_details: z.object({ cached_tokens: optionalCount }, anObject).nullish(),
    completion_tokens_details: z.object({ reasoning_tokens: optionalCount }, anObject).nullish(),
    // OpenAI responses and Anthropic messages
    input_tokens: optionalCount,
    output_tokens: optionalCount,
    // OpenAI responses
    input_tokens_details: z.object({ cached_tokens: optionalCount }, anObject).nullish(),
    output_tokens_details: z.object({ reasoning_tokens: optionalCount }, anObject).nullish(),
    // Anthropic: counted apart from its input_tokens
    cache_read_input_tokens: optionalCount,
    cache_creation_input_tokens: optionalCount,
  },
  anObject,
);
type ProviderUsage = z.output<typeof providerUsageSchema>;

/** A count the usage object reports, with where it came from for error messages. */
interface ReportedCount {
  value: number;
  source: string;
}

type UsageReading =
  | { ok: true; counts: Partial<Record<TokenField, ReportedCount>> }
  | { ok: false; path: string[]; message: string };

/**
 * Detects the flavor from the shape alone. The one shape two flavors share, a bare
 * {input_tokens, output_tokens}, means the same under both, so `provider` is never needed.
 */
export function readProviderUsage(usage: ProviderUsage): UsageReading {
  const isPresent = (value: unknown) => value !== undefined;
  const chat = [usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens_details, usage.completion_tokens_details].some(isPresent);
  const responses = [usage.input_tokens_details, usage.output_tokens_details].some(isPresent);
  const anthropic = [usage.cache_read_input_tokens, usage.cache_creation_input_tokens].some(isPresent);
  const inputOutput = [usage.input_tokens, usage.output_tokens].some(isPresent);

  if (chat && (inputOutput || responses || anthropic)) {
    return mixedFlavors('OpenAI chat fields (prompt_tokens, completion_tokens) with input_tokens/output_tokens style fields');
  }
  if (responses && anthropic) return mixedFlavors('OpenAI responses details with Anthropic cache fields');
  if (chat) return readOpenAiChat(usage);
  if (anthropic) return readAnthropic(usage);
  if (inputOutput || responses) return readOpenAiResponses(usage);
  return {
    ok: false,
    path: ['usage'],
    message: 'has no token counts: expected OpenAI chat (prompt_tokens), OpenAI responses or Anthropic (input_tokens, output_tokens) usage',
  };
}

function readOpenAiChat(usage: ProviderUsage): UsageReading {
  if (usage.prompt_tokens == null) return missing('prompt_tokens', 'OpenAI chat');
  return {
    ok: true,
    counts: {
      input_tokens: reported(usage.prompt_tokens, 'usage.prompt_tokens'),
      output_tokens: reported(usage.completion_tokens, 'usage.completion_tokens'),
      cached_input_tokens: reported(usage.prompt_tokens_details?.cached_tokens, 'usage.prompt_tokens_details.cached_tokens'),
      reasoning_tokens: reported(usage.completion_tokens_details?.reasoning_tokens, 'usage.completion_tokens_details.reasoning_tokens'),
    },
  };
}

function readOpenAiResponses(usage: ProviderUsage): UsageReading {
  if (usage.input_tokens == null) return missing('input_tokens', 'OpenAI responses');
  if (usage.output_tokens == null) return missing('output_tokens', 'OpenAI responses');
  return {
    ok: true,
    counts: {
      input_tokens: reported(usage.input_tokens, 'usage.input_tokens'),
      output_tokens: reported(usage.output_tokens, 'usage.output_tokens'),
      cached_input_tokens: reported(usage.input_tokens_details?.cached_tokens, 'usage.input_tokens_details.cached_tokens'),
      reasoning_tokens: reported(usage.output_tokens_details?.reasoning_tokens, 'usage.output_tokens_details.reasoning_tokens'),
    },
  };
}

/** Anthropic's input_tokens excludes cache reads and writes: add them to get the whole input. */
function readAnthropic(usage: ProviderUsage): UsageReading {
  if (usage.input_tokens == null) return missing('input_tokens', 'Anthropic');
  if (usage.output_tokens == null) return missing('output_tokens', 'Anthropic');
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return {
    ok: true,
    counts: {
      input_tokens: reported(
        usage.input_tokens + cacheRead + cacheWrite,
        'usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens',
      ),
      output_tokens: reported(usage.output_tokens, 'usage.output_tokens'),
      cached_input_tokens: reported(usage.cache_read_input_tokens, 'usage.cache_read_input_tokens'),
      cache_write_tokens: reported(usage.cache_creation_input_tokens, 'usage.cache_creation_input_tokens'),
    },
  };
}

function reported(value: number | null | undefined, source: string): ReportedCount | undefined {
  return value == null ? undefined : { value, source };
}

function missing(field: string, flavor: string): UsageReading {
  return { ok: false, path: ['usage', field], message: `is required in ${flavor} usage` };
}

function mixedFlavors(what: string): UsageReading {
  return { ok: false, path: ['usage'], message: `mixes ${what}; send the provider's usage object unchanged` };
}
