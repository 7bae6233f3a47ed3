import { ConfigFold, type ApplyResult, type ConfigEvent, type TenantConfig } from '@tokenledger/schemas';
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
 * The folded configuration, compiled once per tenant and version and reused for every event
 * until the next change.
 */
export class ConfigStore extends ConfigFold {
  private readonly compiled = new Map<string, CompiledConfig>();

  override apply(event: ConfigEvent, offset: number): ApplyResult {
    const result = super.apply(event, offset);
    if (result.ok) this.compiled.delete(`${event.tenant_id}@latest`);
    return result;
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
