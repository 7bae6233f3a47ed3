import { createMetricsRegistry, createServiceHttp, type ClickHouseClient, type Logger } from '@tokenledger/infra';
import type { ApiConfig } from './config.js';

export interface ApiDeps {
  logger: Logger;
  clickhouse: ClickHouseClient;
}

export interface ApiService {
  url: string;
  stop(): Promise<void>;
}

export async function startApi(config: ApiConfig, deps: ApiDeps): Promise<ApiService> {
  const metrics = createMetricsRegistry('api');
  const app = createServiceHttp({
    logger: deps.logger,
    metrics,
    isReady: async () => (await deps.clickhouse.ping()).success,
  });
  const url = await app.listen({ port: config.API_PORT, host: config.API_HOST });
  return { url, stop: () => app.close() };
}
