import { applyConfigEvent, emptyTenantConfig, type ApplyResult, type ConfigEvent, type TenantConfig } from './config.js';

/**
 * Every tenant's configuration folded from the config topic's events. It keeps each tenant's
 * changes too, so it can answer "the configuration as of version V" (a replay under a named
 * version). Services that read the config topic fold it with this, and add what they derive.
 */
export class ConfigFold {
  private readonly latest = new Map<string, TenantConfig>();
  private readonly history = new Map<string, { event: ConfigEvent; offset: number }[]>();

  apply(event: ConfigEvent, offset: number): ApplyResult {
    const config = this.latest.get(event.tenant_id) ?? emptyTenantConfig(event.tenant_id);
    this.latest.set(event.tenant_id, config);
    const result = applyConfigEvent(config, event, offset);
    if (!result.ok) return result;
    this.history.set(event.tenant_id, [...(this.history.get(event.tenant_id) ?? []), { event, offset }]);
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
}
