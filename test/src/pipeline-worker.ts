/**
 * The attributor and the outcome joiner in one process over one embedded ClickHouse, as
 * `npm start` runs them, for tests that kill it (-9) and start it again. Configured by the
 * environment; prints one JSON line per settle pass: {"outcomes": n, "noOutcomeRuns": m}.
 */
import { loadAttributorConfig, startAttributor } from '@tokenledger/attributor';
import { clickHouseSettings, connectClickHouse, createLogger, migrate, parseEnv, platformEnv, SchemaRegistry } from '@tokenledger/infra';
import { loadJoinerConfig, startJoiner } from '@tokenledger/outcome-joiner';

const logger = createLogger('pipeline-worker', process.env.LOG_LEVEL ?? 'warn', true);
const platform = parseEnv(platformEnv);
const clickhouse = await connectClickHouse(clickHouseSettings(platform, platform.TOKENLEDGER_DATA_DIR));
await migrate(clickhouse, {}, logger);
const registry = new SchemaRegistry({ host: platform.SCHEMA_REGISTRY_URL });
await startAttributor(loadAttributorConfig(), { logger, clickhouse, registry });
const joiner = await startJoiner(loadJoinerConfig(), { logger, clickhouse, registry });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for (;;) {
  const passed = await joiner.settle();
  process.stdout.write(`${JSON.stringify(passed)}\n`);
  await new Promise((r) => setTimeout(r, 200));
}
