import { applyConfigEvent, emptyTenantConfig, type ApplyResult, type ConfigEvent, type TenantConfig } from '@tokenledger/schemas';
import { compileConfig, type AttributionConfig, type CompiledConfig } from './attribute.js';

/** The attribution configuration a tenant's folded config events amount to. */
export function attributionConfigOf(config: TenantConfig): AttributionConfig {
  return {
    rules_version: config.rulesVersion,
    prices_version: config.pricesVersion,
    rules: [...config.rules.values()],
    ticketPrefixes: Object.fromEntries([...config.ticketPrefixes].map(([prefix, { project }]) => [prefix, project])),
    directory: { users: Object.fromEntries(config.users), teams: Object.fromEntries(config.teams) },
    projects: Object.fromEntries(config.projects),
    priceOverrides: [...config.priceOverrides.values()],
  };
}

/**
 * Every tenant's configuration, folded from the config topic, compiled once per version and
 * reused for every event until the next change. It also keeps each tenant's changes, so it
 * can answer "the configuration as of version V" for a replay under a named version.
 */
export class ConfigStore {
  private readonly latest = new Map<string, TenantConfig>();
  private readonly history = new Map<string, { event: ConfigEvent; offset: number }[]>();
  private readonly compiled = new Map<string, CompiledConfig>();

  apply(event: ConfigEvent, offset: number): ApplyResult {
    const config = this.latest.get(event.tenant_id) ?? emptyTenantConfig(event.tenant_id);
    this.latest.set(event.tenant_id, config);
    const result = applyConfigEvent(config, event, offset);
    if (!result.ok) return result;
    this.history.set(event.tenant_id, [...(this.history.get(event.tenant_id) ?? []), { event, offset }]);
    this.compiled.delete(`${event.tenant_id}@latest`);
    return result;
  }

  /** The tenant's configuration now, or as of `version` (changes at offsets below version). */
  tenant(tenantId: string, version = 0): TenantConfig {
    if (version === 0) return this.latest.get(tenantId) ?? emptyTenantConfig(tenantId);
    const config = emptyTenantConfig(tenantId);
    for (const { event, offset } of this.history.get(tenantId) ?? []) {
      if (offset < version) applyConfigEvent(config, event, offset);
    }
    return config;
  }

  /** Every tenant with at least one change. */
  tenants(): string[] {
    return [...this.latest.keys()];
  }

  /** Compiled configuration; `version` 0 is the latest. A fixed version never changes, so it stays cached. */
  compiledFor(tenantId: string, version = 0): CompiledConfig {
    const key = `${tenantId}@${version === 0 ? 'latest' : version}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = compileConfig(attributionConfigOf(this.tenant(tenantId, version)));
      this.compiled.set(key, compiled);
    }
    return compiled;
  }
}
