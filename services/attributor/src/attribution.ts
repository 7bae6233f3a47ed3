/**
 * Decides who a usage event's cost belongs to, in tiers, first decisive tier wins:
 *   1. explicit  — `project` / `project_split` tags on the event;
 *   2. prompt    — configured rules over prompt excerpt, system prompt id, workflow, agent and tags
 *                  (first match by priority), then ticket keys in the excerpt (PAY-1234 → owner of PAY);
 *   3. person    — the user's team's default project, from the directory;
 *   4. unattributed — one allocation to UNATTRIBUTED, never spread over other projects.
 * Field tags always win: `investment` / `cost_center` tags override whatever the deciding tier set.
 * Team and, when the tier set none, cost center come from the user's directory entry.
 * Only rule ids leave this module; prompt text is scanned, never copied.
 */
import { z } from 'zod';
import { attributionRuleSchema, type AttributionRule, type MatchField, type RuleCondition } from '@tokenledger/schemas';
import type { UsageInput } from './usage-input.js';

export type { AttributionRule, MatchField, RuleCondition };

export const UNATTRIBUTED = '(unattributed)';

/** Longest prefix of any text field that rules scan; bounds the cost of every regex per event. */
export const MAX_SCANNED_TEXT_LENGTH = 8 * 1024;

export const EXPLICIT_TAGS = {
  project: 'project',
  projectSplit: 'project_split',
  investment: 'investment',
  costCenter: 'cost_center',
} as const;

export type AttributionTier = 'explicit' | 'prompt' | 'person' | 'unattributed';

export interface AttributedShare {
  project: string;
  investment: string | null;
  cost_center: string | null;
  team: string | null;
  /** Relative weight within the event; the shares' weights need not sum to anything in particular. */
  weight: number;
}

export interface Attribution {
  tier: AttributionTier;
  /** `tag:project`, `tag:project_split`, a rule id, `ticket:<PREFIX>`, `directory:<team>` or `none`. */
  rule_id: string;
  allocations: AttributedShare[];
}

export interface Attributor {
  attribute(usage: UsageInput): Attribution;
}



/** Ticket key prefix (as written in keys, e.g. `PAY`) → owning project. */
export const ticketPrefixesSchema = z.record(z.string().regex(/^[A-Z][A-Z0-9_]+$/), z.string().min(1));

export const directorySchema = z.object({
  users: z.record(z.string(), z.object({ team: z.string().min(1) })),
  teams: z.record(
    z.string(),
    z.object({ cost_center: z.string().min(1).nullable().optional(), default_project: z.string().min(1).nullable().optional() }),
  ),
});

export type Directory = z.infer<typeof directorySchema>;

export const attributionTiersConfigSchema = z.object({
  rules: z.array(attributionRuleSchema),
  ticketPrefixes: ticketPrefixesSchema,
  directory: directorySchema,
});

export type AttributionTiersConfig = z.infer<typeof attributionTiersConfigSchema>;

/** Jira-style keys; the look-arounds keep `XPAY-1` or `PAY-12a` from matching as `PAY`. */
const TICKET_KEY = /(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]+)-\d+(?![A-Za-z0-9_])/g;
const REGEX_SPECIAL_CHARS = /[.*+?^${}()|[\]\\]/g;
const POSITIVE_DECIMAL = /^\d+(\.\d+)?$/;

/** A share before the person's team and fallback cost center are filled in. */
type DecidedShare = Omit<AttributedShare, 'team'>;

interface Decision {
  tier: AttributionTier;
  rule_id: string;
  shares: DecidedShare[];
}

interface CompiledRule {
  id: string;
  conditions: ((usage: UsageInput) => boolean)[];
  shares: DecidedShare[];
}

interface Person {
  team: string | null;
  costCenter: string | null;
  defaultProject: string | null;
}

/** Validates and compiles the rules once (regexes included); throws on invalid configuration. */
export function compileAttributor(input: AttributionTiersConfig): Attributor {
  const parsed = attributionTiersConfigSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid attribution rules: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const rules = config.rules
    .map((rule, order) => ({ rule, order }))
    .sort((a, b) => a.rule.priority - b.rule.priority || a.order - b.order)
    .map(({ rule }) => compileRule(rule));
  const ticketOwners = new Map(Object.entries(config.ticketPrefixes));
  const users = new Map(Object.entries(config.directory.users));
  const teams = new Map(Object.entries(config.directory.teams));

  function person(userId: string | null): Person {
    const team = userId === null ? undefined : users.get(userId)?.team;
    const teamEntry = team === undefined ? undefined : teams.get(team);
    return { team: team ?? null, costCenter: teamEntry?.cost_center ?? null, defaultProject: teamEntry?.default_project ?? null };
  }

  function decide(usage: UsageInput, who: Person): Decision {
    const explicit = explicitShares(usage.tags);
    if (explicit) return { tier: 'explicit', ...explicit };

    const rule = rules.find((candidate) => candidate.conditions.every((holds) => holds(usage)));
    if (rule) return { tier: 'prompt', rule_id: rule.id, shares: rule.shares };

    const ticket = ticketOwner(usage, ticketOwners);
    if (ticket) return { tier: 'prompt', rule_id: `ticket:${ticket.prefix}`, shares: [projectShare(ticket.project)] };

    if (who.defaultProject !== null) return { tier: 'person', rule_id: `directory:${who.team}`, shares: [projectShare(who.defaultProject)] };
    return { tier: 'unattributed', rule_id: 'none', shares: [projectShare(UNATTRIBUTED)] };
  }

  return {
    attribute(usage) {
      const who = person(usage.user_id);
      const { tier, rule_id, shares } = decide(usage, who);
      const investmentTag = tagValue(usage.tags, EXPLICIT_TAGS.investment);
      const costCenterTag = tagValue(usage.tags, EXPLICIT_TAGS.costCenter);
      return {
        tier,
        rule_id,
        allocations: shares.map((share) => ({
          project: share.project,
          investment: investmentTag ?? share.investment,
          cost_center: costCenterTag ?? share.cost_center ?? who.costCenter,
          team: who.team,
          weight: share.weight,
        })),
      };
    },
  };
}

function projectShare(project: string): DecidedShare {
  return { project, investment: null, cost_center: null, weight: 1 };
}

function explicitShares(tags: Record<string, string>): Omit<Decision, 'tier'> | null {
  const splitTag = tagValue(tags, EXPLICIT_TAGS.projectSplit);
  const split = splitTag === null ? null : parseProjectSplit(splitTag);
  if (split) {
    return { rule_id: `tag:${EXPLICIT_TAGS.projectSplit}`, shares: split.map(({ project, weight }) => ({ ...projectShare(project), weight })) };
  }
  const project = tagValue(tags, EXPLICIT_TAGS.project);
  return project === null ? null : { rule_id: `tag:${EXPLICIT_TAGS.project}`, shares: [projectShare(project)] };
}

/**
 * "alpha:60,beta:40" → [{alpha, 60}, {beta, 40}]. The weight follows the last colon, so project
 * names may contain colons. Malformed text (bad weight, empty name, repeated project) yields null:
 * the tag is then ignored rather than half-trusted.
 */
export function parseProjectSplit(text: string): { project: string; weight: number }[] | null {
  const shares: { project: string; weight: number }[] = [];
  for (const entry of text.split(',')) {
    const separator = entry.lastIndexOf(':');
    const project = entry.slice(0, separator).trim();
    const weightText = entry.slice(separator + 1).trim();
    const weight = Number(weightText);
    if (separator < 0 || !project || !POSITIVE_DECIMAL.test(weightText) || !(weight > 0)) return null;
    if (shares.some((share) => share.project === project)) return null;
    shares.push({ project, weight });
  }
  return shares;
}

function ticketOwner(usage: UsageInput, owners: Map<string, string>): { prefix: string; project: string } | null {
  const excerpt = usage.prompt?.excerpt;
  if (!excerpt || owners.size === 0) return null;
  // The first key, in reading order, whose prefix has an owner decides.
  for (const match of scanned(excerpt).matchAll(TICKET_KEY)) {
    const prefix = match[1];
    const project = prefix === undefined ? undefined : owners.get(prefix);
    if (prefix !== undefined && project !== undefined) return { prefix, project };
  }
  return null;
}

function compileRule(rule: AttributionRule): CompiledRule {
  const { target } = rule;
  const withTargetFields = (project: string, weight: number) => ({
    project,
    investment: target.investment ?? null,
    cost_center: target.cost_center ?? null,
    weight,
  });
  return {
    id: rule.id,
    conditions: rule.when.map((condition) => compileCondition(rule.id, condition)),
    shares: target.split
      ? target.split.map((share) => withTargetFields(share.project, share.weight))
      : [withTargetFields(target.project ?? UNATTRIBUTED, 1)],
  };
}

function compileCondition(ruleId: string, condition: RuleCondition): (usage: UsageInput) => boolean {
  const read = fieldReader(condition.field);
  if ('keywords' in condition) {
    const keywords = condition.keywords.map(keywordRegExp);
    return condition.match === 'all'
      ? (usage) => {
          const text = read(usage);
          return text !== null && keywords.every((keyword) => keyword.test(text));
        }
      : (usage) => {
          const text = read(usage);
          return text !== null && keywords.some((keyword) => keyword.test(text));
        };
  }
  if ('regex' in condition) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(condition.regex, condition.flags ?? '');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`rule ${ruleId}: invalid regex ${JSON.stringify(condition.regex)}: ${reason}`);
    }
    return (usage) => {
      const text = read(usage);
      return text !== null && pattern.test(text);
    };
  }
  const accepted = new Set(typeof condition.equals === 'string' ? [condition.equals] : condition.equals);
  return (usage) => {
    const text = read(usage);
    return text !== null && accepted.has(text);
  };
}

/** Matches the keyword as a whole word (not inside a longer word), ignoring case. */
function keywordRegExp(keyword: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}_])${keyword.replace(REGEX_SPECIAL_CHARS, '\\$&')}(?![\\p{L}\\p{N}_])`, 'iu');
}

function fieldReader(field: MatchField): (usage: UsageInput) => string | null {
  const capped = (text: string | null | undefined) => (text === null || text === undefined ? null : scanned(text));
  switch (field) {
    case 'prompt':
      return (usage) => capped(usage.prompt?.excerpt);
    case 'system_prompt_id':
      return (usage) => capped(usage.prompt?.system_prompt_id);
    case 'workflow':
      return (usage) => capped(usage.workflow);
    case 'agent':
      return (usage) => capped(usage.agent);
    default: {
      const tagKey = field.slice('tag:'.length);
      return (usage) => capped(ownValue(usage.tags, tagKey));
    }
  }
}

function scanned(text: string): string {
  return text.length > MAX_SCANNED_TEXT_LENGTH ? text.slice(0, MAX_SCANNED_TEXT_LENGTH) : text;
}

/** record[key] only if it is the record's own string (a tag named "constructor" must not reach Object.prototype). */
function ownValue(record: Record<string, string>, key: string): string | null {
  const value = Object.hasOwn(record, key) ? record[key] : undefined;
  return typeof value === 'string' ? value : null;
}

/** A tag's trimmed value; blank counts as absent. */
function tagValue(tags: Record<string, string>, key: string): string | null {
  return ownValue(tags, key)?.trim() || null;
}
