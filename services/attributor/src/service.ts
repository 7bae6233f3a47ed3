import { createMetricsRegistry, createServiceHttp, type ClickHouseClient, type Logger } from '@tokenledger/infra';
import type { AttributorConfig } from './config.js';

export interface AttributorDeps {
  logger: Logger;
  clickhouse: ClickHouseClient;
}

export interface AttributorService {
  url: string;
  stop(): Promise<void>;
}

export async function startAttributor(config: AttributorConfig, deps: AttributorDeps): Promise<AttributorService> {
  const metrics = createMetricsRegistry('attributor');
  const app = createServiceHttp({
    logger: deps.logger,
    metrics,
    isReady: async () => (await deps.clickhouse.ping()).success,
  });
  const url = await app.listen({ port: config.ATTRIBUTOR_PORT, host: config.ATTRIBUTOR_HOST });
  return { url, stop: () => app.close() };
}
