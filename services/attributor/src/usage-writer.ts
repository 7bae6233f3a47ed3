import type { ClickHouseClient, Decoded, ProjectionRow } from '@tokenledger/infra';
import type { UsageEvent } from '@tokenledger/schemas';
import { attributeUsage } from './attribute.js';
import type { ConfigStore } from './config-store.js';
import { USAGE_FACT_COLUMNS, usageFactValues, type UsageFactValues } from './facts.js';

/** The client writes the column list as given: quoted, as `projection` is a keyword. */
const INSERT_COLUMNS = USAGE_FACT_COLUMNS.map((column) => `\`${column}\``) as [string, ...string[]];

/**
 * Writes the usage facts of a batch into each target projection, priced and attributed under
 * that projection's configuration version. One insert per batch.
 */
export function usageFactWriter(clickhouse: ClickHouseClient, store: ConfigStore, targets: () => ProjectionRow[]) {
  return async (messages: Decoded<UsageEvent>[]): Promise<void> => {
    const rows: UsageFactValues[] = [];
    for (const { projection, configVersion } of targets()) {
      for (const { value, partition, offset } of messages) {
        const fact = attributeUsage(value, store.compiledFor(value.tenant_id, configVersion));
        rows.push(usageFactValues(fact, value, { partition, offset }, projection));
      }
    }
    if (rows.length > 0) {
      await clickhouse.insert({ table: 'usage_facts', columns: INSERT_COLUMNS, values: rows, format: 'JSONCompactEachRow' });
    }
  };
}
