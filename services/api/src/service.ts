import {
  createKafka, createMetricsRegistry, createServiceHttp, Projections,
  type ClickHouseClient, type KeyRing, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import type { ApiConfig } from './config.js';
import { registerDashboard } from './dashboard/dashboard.js';
import { openApiDocument } from './openapi.js';
import { Reader } from './reader.js';
import { registerErrorHandler, registerRoutes, type Route } from './route.js';
import { apiRoutes } from './routes/index.js';
import type { StartReplay } from './routes/replay.js';

export interface ApiDeps {
  logger: Logger;
  clickhouse: ClickHouseClient;
  keys: KeyRing;
  registry: SchemaRegistry;
  /** Runs replays (the attributor's `startReplay`); without it the admin replay endpoints are absent. */
  startReplay?: StartReplay;
}

export interface ApiService {
  url: string;
  stop(): Promise<void>;
}

export async function startApi(config: ApiConfig, deps: ApiDeps): Promise<ApiService> {
  const metrics = createMetricsRegistry('api');
  const projections = new Projections(deps.clickhouse);
  await projections.start();
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-api', deps.logger);

  const routes: Route[] = apiRoutes(kafka, deps.registry, deps.startReplay);
  const app = createServiceHttp({
    logger: deps.logger,
    metrics,
    isReady: async () => (await deps.clickhouse.ping()).success,
  });
  registerErrorHandler(app);
  registerDashboard(app);
  registerRoutes(app, routes, {
    keys: deps.keys,
    maxRangeDays: config.API_MAX_RANGE_DAYS,
    reader: (tenantId) => new Reader(deps.clickhouse, tenantId, projections.served()),
  });
  const document = openApiDocument(routes, '0.1.0');
  app.get('/openapi.json', async () => document);

  const url = await app.listen({ port: config.API_PORT, host: config.API_HOST });
  deps.logger.info({ event: 'service_started', url }, 'api listening');
  return {
    url,
    async stop() {
      await app.close();
      projections.stop();
    },
  };
}
