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
 * reused for every event until the next change.
 */
export class ConfigStore {
  private readonly tenants = new Map<string, TenantConfig>();
  private readonly compiled = new Map<string, CompiledConfig>();

  apply(event: ConfigEvent, offset: number): ApplyResult {
    const config = this.tenants.get(event.tenant_id) ?? emptyTenantConfig(event.tenant_id);
    this.tenants.set(event.tenant_id, config);
    const result = applyConfigEvent(config, event, offset);
    if (result.ok) this.compiled.delete(event.tenant_id);
    return result;
  }

  tenant(tenantId: string): TenantConfig {
    return this.tenants.get(tenantId) ?? emptyTenantConfig(tenantId);
  }

  compiledFor(tenantId: string): CompiledConfig {
    let compiled = this.compiled.get(tenantId);
    if (!compiled) {
      compiled = compileConfig(attributionConfigOf(this.tenant(tenantId)));
      this.compiled.set(tenantId, compiled);
    }
    return compiled;
  }
}
