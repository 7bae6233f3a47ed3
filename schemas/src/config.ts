/**
 * Event-sourced configuration: every change is a ConfigEvent on the config topic. Folding the
 * topic in order gives each tenant's current configuration; the offset of a tenant's last
 * rules change and last price change are the versions facts record.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  attributionRuleSchema, budgetSchema, priceOverrideSchema, projectEntrySchema, stopLossRuleSchema, webhookSchema,
  type AttributionRule, type Budget, type PriceOverride, type ProjectEntry, type StopLossRule, type Webhook,
} from './config-bodies.js';
import { idString, nameString } from './fields.js';
import { validateWith, type ValidationResult } from './validation.js';

export const configKinds = [
  'price_override', 'attribution_rule', 'ticket_prefix', 'directory_user', 'directory_team', 'project', 'budget', 'stop_loss_rule', 'webhook',
] as const;
export type ConfigKind = (typeof configKinds)[number];

/** Kinds whose changes move `prices_version`. */
const priceKinds: ReadonlySet<ConfigKind> = new Set(['price_override']);
/**
 * Governance kinds move `governance_version` only: they change no fact, so the facts'
 * `rules_version` must not move with them. Every other kind moves `rules_version`.
 */
const governanceKinds: ReadonlySet<ConfigKind> = new Set(['budget', 'stop_loss_rule', 'webhook']);

export const configEventSchema = z.object({
  tenant_id: idString,
  kind: z.enum(configKinds),
  item_id: idString,
  body: z.string().nullable(),
  change_id: idString,
  published_at: z.number().int(),
  published_by: nameString,
  comment: z.string().max(2_000).nullable(),
});
export type ConfigEvent = z.infer<typeof configEventSchema>;

const ticketPrefixBody = z.strictObject({ project: nameString });
const directoryUserBody = z.strictObject({ team: nameString });
const directoryTeamBody = z.strictObject({ cost_center: nameString.nullish(), default_project: nameString.nullish() });

/** Fills in what a published body leaves to the event: ids, the tenant and the version. */
const withFields = (fields: object) => (body: unknown) =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, ...fields } : body;

/**
 * The schema of a kind's body. Ids and versions come from the event, so a price override's
 * body has no tenant_id or version and a rule's body no id; they are filled in when read.
 */
export function configBodySchema(kind: ConfigKind, tenantId: string, itemId: string, version: number): z.ZodType {
  switch (kind) {
    case 'price_override': return z.preprocess(withFields({ id: itemId, tenant_id: tenantId, version }), priceOverrideSchema);
    case 'attribution_rule': return z.preprocess(withFields({ id: itemId }), attributionRuleSchema);
    case 'ticket_prefix': return ticketPrefixBody;
    case 'directory_user': return directoryUserBody;
    case 'directory_team': return directoryTeamBody;
    case 'project': return projectEntrySchema;
    case 'budget': return z.preprocess(withFields({ version }), budgetSchema);
    case 'stop_loss_rule': return z.preprocess(withFields({ version }), stopLossRuleSchema);
    case 'webhook': return z.preprocess(withFields({ version }), webhookSchema);
  }
}

/** Checks a body before it is published, so a bad change is refused at the door with its field named. */
export function validateConfigBody(kind: ConfigKind, tenantId: string, itemId: string, body: unknown): ValidationResult<unknown> {
  return validateWith(configBodySchema(kind, tenantId, itemId, 0), body);
}

/** A new change event; the caller publishes it keyed by `configEventKey`. */
export function configChange(input: {
  tenantId: string; kind: ConfigKind; itemId: string; body: unknown | null; publishedBy: string; comment?: string | null; now?: number;
}): ConfigEvent {
  return {
    tenant_id: input.tenantId,
    kind: input.kind,
    item_id: input.itemId,
    body: input.body === null ? null : JSON.stringify(input.body),
    change_id: randomUUID(),
    published_at: input.now ?? Date.now(),
    published_by: input.publishedBy,
    comment: input.comment ?? null,
  };
}

/** Unique per change, so compaction never removes history. */
export const configEventKey = (e: ConfigEvent): string => `${e.tenant_id}/${e.kind}/${e.item_id}/${e.change_id}`;

export interface TenantConfig {
  tenantId: string;
  /** Offset of the tenant's last change to rules, directory, ticket prefixes or projects (0: none). */
  rulesVersion: number;
  /** Offset of the tenant's last price change (0: none). */
  pricesVersion: number;
  priceOverrides: Map<string, PriceOverride>;
  rules: Map<string, AttributionRule>;
  ticketPrefixes: Map<string, { project: string }>;
  users: Map<string, { team: string }>;
  teams: Map<string, { cost_center?: string | null | undefined; default_project?: string | null | undefined }>;
  projects: Map<string, ProjectEntry>;
  /** Offset + 1 of the tenant's last budget, stop-loss rule or webhook change (0: none). */
  governanceVersion: number;
  /** Each with `version`: the offset + 1 of the change that set it (alert ids carry it). */
  budgets: Map<string, Budget>;
  stopLossRules: Map<string, StopLossRule>;
  webhooks: Map<string, Webhook>;
}

export function emptyTenantConfig(tenantId: string): TenantConfig {
  return {
    tenantId, rulesVersion: 0, pricesVersion: 0,
    priceOverrides: new Map(), rules: new Map(), ticketPrefixes: new Map(), users: new Map(), teams: new Map(), projects: new Map(),
    governanceVersion: 0, budgets: new Map(), stopLossRules: new Map(), webhooks: new Map(),
  };
}

export type ApplyResult = { ok: true } | { ok: false; reason: string };

/**
 * Folds one change into the tenant's configuration. `offset` is the change's position on the
 * config topic: versions are offsets + 1, so version 0 means "nothing configured". A change
 * whose body is invalid is refused (the caller dead-letters it) and changes nothing.
 */
export function applyConfigEvent(config: TenantConfig, event: ConfigEvent, offset: number): ApplyResult {
  const version = offset + 1;
  let body: unknown = null;
  if (event.body !== null) {
    let json: unknown;
    try {
      json = JSON.parse(event.body);
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
    const parsed = configBodySchema(event.kind, event.tenant_id, event.item_id, version).safeParse(json);
    if (!parsed.success) return { ok: false, reason: z.prettifyError(parsed.error) };
    body = parsed.data;
  }
  const target = itemsOf(config, event.kind);
  if (body === null) target.delete(event.item_id);
  else target.set(event.item_id, body);
  if (priceKinds.has(event.kind)) config.pricesVersion = version;
  else if (governanceKinds.has(event.kind)) config.governanceVersion = version;
  else config.rulesVersion = version;
  return { ok: true };
}

function itemsOf(config: TenantConfig, kind: ConfigKind): Map<string, unknown> {
  switch (kind) {
    case 'price_override': return config.priceOverrides;
    case 'attribution_rule': return config.rules;
    case 'ticket_prefix': return config.ticketPrefixes;
    case 'directory_user': return config.users;
    case 'directory_team': return config.teams;
    case 'project': return config.projects;
    case 'budget': return config.budgets;
    case 'stop_loss_rule': return config.stopLossRules;
    case 'webhook': return config.webhooks;
  }
}
