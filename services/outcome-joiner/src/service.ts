import { createMetricsRegistry, createServiceHttp, type ClickHouseClient, type Logger } from '@tokenledger/infra';
import type { JoinerConfig } from './config.js';

export interface JoinerDeps {
  logger: Logger;
  clickhouse: ClickHouseClient;
}

export interface JoinerService {
  url: string;
  stop(): Promise<void>;
}

export async function startJoiner(config: JoinerConfig, deps: JoinerDeps): Promise<JoinerService> {
  const metrics = createMetricsRegistry('outcome-joiner');
  const app = createServiceHttp({
    logger: deps.logger,
    metrics,
    isReady: async () => (await deps.clickhouse.ping()).success,
  });
  const url = await app.listen({ port: config.JOINER_PORT, host: config.JOINER_HOST });
  return { url, stop: () => app.close() };
}
