/**
 * The attributor and the outcome joiner in one process over one embedded ClickHouse, as
 * `npm start` runs them, for tests that kill it (-9) and start it again. Configured by the
 * environment; prints one JSON line per settle pass: {"outcomes": n, "noOutcomeRuns": m}.
 * With WORKER_REPLAY=true it also runs a replay and prints its status: {"replay": {...}}.
 */
import { loadAttributorConfig, startAttributor, startReplay } from '@tokenledger/attributor';
import {
  clickHouseSettings, connectClickHouse, createKafka, createLogger, migrate, parseEnv, platformEnv, SchemaRegistry,
} from '@tokenledger/infra';
import { loadJoinerConfig, startJoiner } from '@tokenledger/outcome-joiner';

const logger = createLogger('pipeline-worker', process.env.LOG_LEVEL ?? 'warn', true);
const platform = parseEnv(platformEnv);
const clickhouse = await connectClickHouse(clickHouseSettings(platform, platform.TOKENLEDGER_DATA_DIR));
await migrate(clickhouse, {}, logger);
const registry = new SchemaRegistry({ host: platform.SCHEMA_REGISTRY_URL });
await startAttributor(loadAttributorConfig(), { logger, clickhouse, registry });
const joiner = await startJoiner(loadJoinerConfig(), { logger, clickhouse, registry });
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
say({ ready: true });

if (process.env.WORKER_REPLAY === 'true') {
  const job = startReplay({ kafka: createKafka(platform.KAFKA_BROKERS, 'worker-replay', logger), registry, clickhouse, logger });
  const timer = setInterval(() => say({ replay: job.status() }), 100);
  void job.done.then((status) => {
    clearInterval(timer);
    say({ replay: status });
  });
}
for (;;) {
  say(await joiner.settle());
  await new Promise((r) => setTimeout(r, 200));
}
