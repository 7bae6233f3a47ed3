/**
 * Runs one query against an embedded ClickHouse data directory in its own process and prints
 * the rows as JSON: embedded chDB opens one directory per process, so a test that already
 * holds one reads another through this.
 */
import { clickHouseSettings, connectClickHouse, parseEnv, platformEnv } from '@tokenledger/infra';

const [query, params] = [process.argv[2]!, JSON.parse(process.argv[3] ?? '{}') as Record<string, unknown>];
const platform = parseEnv(platformEnv);
const clickhouse = await connectClickHouse(clickHouseSettings(platform, platform.TOKENLEDGER_DATA_DIR));
const rows = await (await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json();
await clickhouse.close();
process.stdout.write(JSON.stringify(rows));
