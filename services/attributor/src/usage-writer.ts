import { insertEncoded, type ClickHouseClient, type Decoded, type ProjectionRow } from '@tokenledger/infra';
import type { UsageEvent } from '@tokenledger/schemas';
import { attributeUsage } from './attribute.js';
import type { ConfigStore } from './config-store.js';
import { USAGE_FACT_COLUMNS, usageFactValues } from './facts.js';

/**
 * Writes the usage facts of a batch into each target projection, priced and attributed under
 * that projection's configuration version. One insert per batch. Each row is encoded
 * (JSONCompactEachRow) as soon as it is made, so only its text lives until the insert.
 */
export function usageFactWriter(clickhouse: ClickHouseClient, store: ConfigStore, targets: () => ProjectionRow[]) {
  return async (messages: Decoded<UsageEvent>[]): Promise<void> => {
    const lines: string[] = [];
    for (const { projection, configVersion } of targets()) {
      for (const { value, partition, offset } of messages) {
        const fact = attributeUsage(value, store.compiledFor(value.tenant_id, configVersion));
        lines.push(JSON.stringify(usageFactValues(fact, value, { partition, offset }, projection)));
      }
    }
    await insertEncoded(clickhouse, 'usage_facts', USAGE_FACT_COLUMNS, 'JSONCompactEachRow', lines);
  };
}
