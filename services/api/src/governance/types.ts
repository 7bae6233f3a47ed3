import type { TenantConfig } from '@tokenledger/schemas';

/** The folded configuration governance reads (a ConfigFold of the config topic satisfies it). */
export interface GovernanceConfigs {
  tenants(): string[];
  tenant(tenantId: string): TenantConfig;
}
