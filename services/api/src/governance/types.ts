import type { TenantConfig } from '@tokenledger/schemas';

/** The folded configuration governance reads (the attributor's ConfigStore satisfies it). */
export interface GovernanceConfigs {
  tenants(): string[];
  tenant(tenantId: string): TenantConfig;
}
