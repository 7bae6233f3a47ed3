/**
 * Configuration bodies: what the config topic carries for prices, attribution rules, the
 * directory and the project catalogue. Published by the CLI and the api (validated here),
 * read by the attributor (validated again: the topic is a contract, not a trusted store).
 */
import { z } from 'zod';

// Attribution rules

export const matchFieldSchema = z.union([
  z.enum(['prompt', 'system_prompt_id', 'workflow', 'agent']),
  z.templateLiteral(['tag:', z.string().min(1)]),
]);

/** Which text a condition reads: the prompt excerpt, a prompt/run field, or `tag:<key>`. */
export type MatchField = z.infer<typeof matchFieldSchema>;

export const conditionSchema = z.union([
  /** Whole-word, case-insensitive keywords; `match` defaults to 'any'. */
  z.strictObject({
    field: matchFieldSchema,
    keywords: z.array(z.string().trim().min(1)).min(1),
    match: z.enum(['any', 'all']).optional(),
  }),
  /** A regular expression; flags limited to i, m, s, u (g and y would make matching stateful). */
  z.strictObject({ field: matchFieldSchema, regex: z.string().min(1), flags: z.string().regex(/^[imsu]*$/).optional() }),
  /** Exact (case-sensitive) value, or one of several. */
  z.strictObject({ field: matchFieldSchema, equals: z.union([z.string(), z.array(z.string()).min(1)]) }),
]);

export type RuleCondition = z.infer<typeof conditionSchema>;

const weightedProjectSchema = z.object({ project: z.string().min(1), weight: z.number().positive().finite() });

const ruleTargetSchema = z
  .object({
    project: z.string().min(1).optional(),
    split: z.array(weightedProjectSchema).min(1).optional(),
    investment: z.string().min(1).optional(),
    cost_center: z.string().min(1).optional(),
  })
  .refine((target) => !(target.project && target.split), 'a target has a project or a split, not both')
  .refine(
    (target) => target.project || target.split || target.investment || target.cost_center,
    'a target needs a project, split, investment or cost_center',
  )
  .refine(
    (target) => !target.split || new Set(target.split.map((share) => share.project)).size === target.split.length,
    'a split names each project once',
  );

export const attributionRuleSchema = z.object({
  id: z.string().min(1),
  /** Lower runs first; equal priorities keep configuration order. */
  priority: z.number(),
  /** All conditions must hold. */
  when: z.array(conditionSchema).min(1),
  target: ruleTargetSchema,
});

export type AttributionRule = z.infer<typeof attributionRuleSchema>;

// Project catalogue (capitalization)

export const projectEntrySchema = z.object({
  investment: z.string().min(1).optional(),
  class: z.enum(['capex_eligible', 'opex']),
  stages: z
    .object({
      /** Epoch ms when the application-development stage starts. Until it is recorded, the project is preliminary. */
      preliminary_until: z.number().optional(),
      /** Epoch ms when the post-implementation stage starts; open-ended when absent. */
      development_until: z.number().optional(),
    })
    .refine(
      (stages) =>
        stages.preliminary_until === undefined ||
        stages.development_until === undefined ||
        stages.preliminary_until <= stages.development_until,
      'development_until cannot precede preliminary_until',
    )
    .optional(),
});

/** Keyed by project, or by investment for work attributed to an investment only. */
export type ProjectEntry = z.infer<typeof projectEntrySchema>;

// Negotiated prices

const usdPerMTok = z.string().regex(/^\d+(\.\d+)?$/, 'a non-negative decimal string (USD per million tokens)');

/** A tenant's negotiated price, effective from `effective_from` (inclusive) to `effective_to` (exclusive). */
export const priceOverrideSchema = z
  .object({
    id: z.string().min(1),
    tenant_id: z.string().min(1),
    provider: z.string().min(1),
    /** Exact model id or a glob where `*` matches any run of characters (case-insensitive). */
    model: z.string().min(1),
    effective_from: z.number().int(),
    effective_to: z.number().int().nullable().optional(),
    input: usdPerMTok.optional(),
    output: usdPerMTok.optional(),
    cached_input: usdPerMTok.optional(),
    cache_write: usdPerMTok.optional(),
    reasoning: usdPerMTok.optional(),
    /** Percentage off the genai-prices table price; only for overrides without their own rates. */
    discount_pct: z.string().regex(/^\d+(\.\d+)?$/).optional(),
    version: z.number().int(),
  })
  .superRefine((override, context) => {
    const hasRates = [override.input, override.output, override.cached_input, override.cache_write, override.reasoning].some(
      (rate) => rate !== undefined,
    );
    if (override.discount_pct === undefined && (override.input === undefined || override.output === undefined)) {
      context.addIssue({ code: 'custom', message: 'an override needs input and output rates, or a discount_pct' });
    }
    if (override.discount_pct !== undefined && hasRates) {
      context.addIssue({ code: 'custom', message: 'an override has either rates or a discount_pct, not both' });
    }
    if (override.discount_pct !== undefined && Number(override.discount_pct) > 100) {
      context.addIssue({ code: 'custom', message: 'discount_pct cannot exceed 100' });
    }
    if (override.effective_to != null && override.effective_to <= override.effective_from) {
      context.addIssue({ code: 'custom', message: 'effective_to must be after effective_from' });
    }
  });

export type PriceOverride = z.infer<typeof priceOverrideSchema>;

// Governance: budget envelopes, stop-loss rules, webhooks (read by the api's evaluator)

const usdAmount = z.string().regex(/^\d+(\.\d{1,9})?$/, 'a non-negative decimal string (USD, up to 9 decimals)');
const fraction = z.number().min(0).max(1);

export const budgetScopes = ['project', 'investment', 'team', 'cost_center'] as const;
export type BudgetScope = (typeof budgetScopes)[number];

/** A spending envelope for one project, investment, team or cost center per calendar period (UTC). */
export const budgetSchema = z.strictObject({
  scope: z.enum(budgetScopes),
  /** The project (investment, team, cost center) name, as usage facts' allocations carry it. */
  key: z.string().min(1),
  period: z.enum(['month', 'quarter']),
  amount_usd: usdAmount,
  /** Who answers for the value this money buys. */
  value_owner: z.string().min(1),
  /** Warn once burn to date reaches this percentage of the amount (the forecast warns on its own). */
  warn_at_pct: z.number().gt(0).max(100).optional(),
  /** The config version (offset + 1) of this body: filled in from the event. */
  version: z.number().int(),
});
export type Budget = z.infer<typeof budgetSchema>;

export const stopLossKinds = [
  'cost_per_accepted_outcome_above', 'acceptance_rate_below', 'retry_tax_share_above', 'no_outcome_share_above', 'token_cost_above_baseline',
] as const;
export type StopLossKind = (typeof stopLossKinds)[number];

/**
 * A stop-loss rule on unit economics over a trailing window. `limit_usd` for
 * cost_per_accepted_outcome_above, `floor` for acceptance_rate_below, `share` for the two share
 * rules; token_cost_above_baseline takes an optional `factor` (default 1).
 */
export const stopLossRuleSchema = z
  .strictObject({
    kind: z.enum(stopLossKinds),
    scope: z.strictObject({ outcome_type: z.string().min(1).optional(), project: z.string().min(1).optional() }).default({}),
    window_days: z.number().int().min(1).max(366),
    limit_usd: usdAmount.optional(),
    floor: fraction.optional(),
    share: fraction.optional(),
    factor: z.number().positive().optional(),
    /** Fewer outcomes (or, for the share rules, zero spend) in the window: not enough data, the rule holds. */
    min_outcomes: z.number().int().min(1).default(1),
    version: z.number().int(),
  })
  .superRefine((rule, context) => {
    const needs: Partial<Record<StopLossKind, 'limit_usd' | 'floor' | 'share'>> = {
      cost_per_accepted_outcome_above: 'limit_usd', acceptance_rate_below: 'floor', retry_tax_share_above: 'share', no_outcome_share_above: 'share',
    };
    const field = needs[rule.kind];
    if (field && rule[field] === undefined) context.addIssue({ code: 'custom', path: [field], message: `${rule.kind} needs ${field}` });
  });
export type StopLossRule = z.infer<typeof stopLossRuleSchema>;

/** Where alerts are POSTed, signed with HMAC-SHA256 under `secret`; `events`/`rules` filter them. */
export const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().min(16, 'at least 16 characters'),
  events: z.array(z.enum(['trip', 'clear'])).min(1).optional(),
  /** Rule ids (stop-loss ids, or `budget:<id>:forecast` / `budget:<id>:exceeded`); all when absent. */
  rules: z.array(z.string().min(1)).min(1).optional(),
  version: z.number().int(),
});
export type Webhook = z.infer<typeof webhookSchema>;
