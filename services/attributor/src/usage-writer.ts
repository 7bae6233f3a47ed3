import type { ClickHouseClient, Decoded, ProjectionRow } from '@tokenledger/infra';
import type { UsageEvent } from '@tokenledger/schemas';
import { attributeUsage } from './attribute.js';
import type { ConfigStore } from './config-store.js';
import { usageFactRow } from './facts.js';

/**
 * Writes the usage facts of a batch into each target projection, priced and attributed under
 * that projection's configuration version. One insert per batch.
 */
export function usageFactWriter(clickhouse: ClickHouseClient, store: ConfigStore, targets: () => ProjectionRow[]) {
  return async (messages: Decoded<UsageEvent>[]): Promise<void> => {
    const rows = targets().flatMap(({ projection, configVersion }) =>
      messages.map(({ value, partition, offset }) => ({
        ...usageFactRow(attributeUsage(value, store.compiledFor(value.tenant_id, configVersion)), value, { partition, offset }),
        projection,
      })),
    );
    if (rows.length > 0) await clickhouse.insert({ table: 'usage_facts', values: rows, format: 'JSONEachRow' });
  };
}
