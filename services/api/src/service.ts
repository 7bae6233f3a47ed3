import {
  configFeed, createKafka, createMetricsRegistry, createServiceHttp, Projections,
  type ClickHouseClient, type KeyRing, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import { ConfigFold } from '@tokenledger/schemas';
import type { ApiConfig } from './config.js';
import { registerDashboard } from './dashboard/dashboard.js';
import { Reservations } from './governance/budgets.js';
import { GovernanceEvaluator } from './governance/evaluator.js';
import { createGovernanceMetrics } from './governance/metrics.js';
import { GovernanceStore } from './governance/store.js';
import { openApiDocument } from './openapi.js';
import { Reader } from './reader.js';
import { UsageRollup } from './rollup/usage-hourly-job.js';
import { Watermarks } from './rollup/watermarks.js';
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
  /** The time budgets and stop-loss windows are evaluated at (default: the wall clock). */
  clock?: { now(): number };
}

export interface ApiService {
  url: string;
  /** Present when API_GOVERNANCE_EVALUATOR is true. */
  evaluator: GovernanceEvaluator | undefined;
  /** The hourly usage rollup job; present when API_ROLLUP is true. */
  rollup: UsageRollup | undefined;
  stop(): Promise<void>;
}

export async function startApi(config: ApiConfig, deps: ApiDeps): Promise<ApiService> {
  const metrics = createMetricsRegistry('api');
  const projections = new Projections(deps.clickhouse);
  await projections.start();
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-api', deps.logger);

  // Governance: budgets, stop-loss rules and webhooks folded from the config topic.
  const clock = deps.clock ?? { now: () => Date.now() };
  const configs = new ConfigFold();
  const configReader = configFeed(kafka, deps.registry, configs, deps.logger, undefined, 'tokenledger-api-config');
  await configReader.start();
  const store = new GovernanceStore(deps.clickhouse);
  const evaluator = config.API_GOVERNANCE_EVALUATOR
    ? new GovernanceEvaluator(
      { kafka, registry: deps.registry, store, configs, projections, logger: deps.logger, clock, metrics: createGovernanceMetrics(metrics) },
      {
        intervalMs: config.API_GOVERNANCE_INTERVAL_MS, retryBaseMs: config.API_WEBHOOK_RETRY_BASE_MS,
        retryMaxMs: config.API_WEBHOOK_RETRY_MAX_MS, deliveryTimeoutMs: config.API_WEBHOOK_TIMEOUT_MS,
      },
    )
    : undefined;
  await evaluator?.start();

  // Rollups: the served projection's usage per hour, so dashboard queries read hours, not facts.
  const rollup = config.API_ROLLUP
    ? new UsageRollup({
      clickhouse: deps.clickhouse, projections: () => projections.list(), visibilityLagMs: config.API_ROLLUP_VISIBILITY_LAG_MS,
      intervalMs: config.API_ROLLUP_INTERVAL_MS, hoursPerInsert: config.API_ROLLUP_HOURS_PER_INSERT, log: deps.logger, metrics,
    })
    : undefined;
  rollup?.start();

  // Watermarks read at most once a second: one round trip less per request.
  const watermarks = config.API_ROLLUP_READ ? new Watermarks(deps.clickhouse, 1_000) : null;
  const routes: Route[] = apiRoutes(kafka, deps.registry, { store, configs, reservations: new Reservations(store), clock }, deps.startReplay);
  const app = createServiceHttp({
    logger: deps.logger,
    metrics,
    isReady: async () => (await deps.clickhouse.ping()).success && (evaluator?.isHealthy ?? true) && (rollup?.isHealthy ?? true),
  });
  registerErrorHandler(app);
  // Request bodies are uncompressed JSON: anything else is refused up front with 415.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      return reply.code(415).send({ error: `Content-Encoding "${encoding}" is not supported: send uncompressed JSON` });
    }
  });
  registerDashboard(app);
  registerRoutes(app, routes, {
    keys: deps.keys,
    maxRangeDays: config.API_MAX_RANGE_DAYS,
    reader: (tenantId) => new Reader(deps.clickhouse, tenantId, projections.served(), watermarks),
  });
  const document = openApiDocument(routes, '0.1.0');
  app.get('/openapi.json', async () => document);

  const url = await app.listen({ port: config.API_PORT, host: config.API_HOST });
  deps.logger.info({ event: 'service_started', url }, 'api listening');
  return {
    url,
    evaluator,
    rollup,
    async stop() {
      await app.close();
      await rollup?.stop();
      await evaluator?.stop();
      await configReader.stop();
      projections.stop();
    },
  };
}
