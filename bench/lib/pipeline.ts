/**
 * The services of `npm start` (infra/scripts/start.ts) in this one process over one embedded
 * ClickHouse, started against a benchmark's private stack on free ports. `only: 'api'` starts
 * the api alone (it still reads the config topic, hence the stack).
 */
import { startApi, loadApiConfig } from '@tokenledger/api';
import { loadAttributorConfig, startAttributor } from '@tokenledger/attributor';
import { devKeys, devKeysEnv, keyRingFor, parseEnv, type ClickHouseClient, type DevKeys } from '@tokenledger/infra';
import { loadIngestConfig, startIngest } from '@tokenledger/ingest';
import { loadJoinerConfig, startJoiner } from '@tokenledger/outcome-joiner';
import { freePort, type BenchStack } from './stack.js';

export interface Pipeline {
  keys: DevKeys;
  /** Absent with `only: 'api'`. */
  ingestUrl?: string;
  apiUrl: string;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  tenant: string;
  clickhouse: ClickHouseClient;
  only?: 'api';
  /** Extra environment for the services, e.g. API_GOVERNANCE_EVALUATOR. */
  env?: Record<string, string>;
}

/** Starts the services in start.ts's order (attributor, joiner, api, ingest); stops them in reverse. */
export async function startPipeline(stack: BenchStack, o: PipelineOptions): Promise<Pipeline> {
  const keys = devKeys(parseEnv(devKeysEnv, { TOKENLEDGER_DEV_TENANT: o.tenant }));
  const keyRing = keyRingFor(keys);
  const port = async () => String(await freePort());
  const env = {
    ...stack.env, ...o.env,
    INGEST_HOST: '127.0.0.1', INGEST_PORT: await port(),
    API_HOST: '127.0.0.1', API_PORT: await port(),
    ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_PORT: await port(),
    JOINER_HOST: '127.0.0.1', JOINER_PORT: await port(),
  };
  const deps = { logger: stack.logger, clickhouse: o.clickhouse, registry: stack.registry };
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    if (o.only !== 'api') {
      const attributor = await startAttributor(loadAttributorConfig(env), deps);
      stops.push(attributor.stop);
      const joiner = await startJoiner(loadJoinerConfig(env), deps);
      stops.push(joiner.stop);
    }
    const api = await startApi(loadApiConfig(env), { ...deps, keys: keyRing });
    stops.push(api.stop);
    if (o.only === 'api') return { keys, apiUrl: api.url, stop };
    const ingest = await startIngest(loadIngestConfig(env), { logger: stack.logger, keys: keyRing, registry: stack.registry });
    stops.push(ingest.stop);
    return { keys, ingestUrl: ingest.url, apiUrl: api.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
