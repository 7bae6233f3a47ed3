import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { cacheDir, repoRoot } from './paths.js';
import { ManagedProcess, runVisible, waitFor, type Log } from './process.js';

const registryPom = path.join(repoRoot, 'infra/schema-registry/pom.xml');
const registryHome = path.join(cacheDir, 'schema-registry');

export interface LocalSchemaRegistryOptions {
  /** H2 database, logs and pid file live here: schema ids stay stable across restarts. */
  dataDir: string;
  port: number;
  log: Log;
}

export interface LocalSchemaRegistry {
  /** Base URL of the Confluent-compatible API, for `@kafkajs/confluent-schema-registry`. */
  url: string;
  stop(): Promise<void>;
}

function runnerJar(): string | undefined {
  if (!existsSync(registryHome)) return undefined;
  const jar = readdirSync(registryHome).find((f) => f.endsWith('-runner.jar'));
  return jar && path.join(registryHome, jar);
}

/** Resolves Apicurio Registry's runnable app from Maven Central once; later runs use the cache. */
export async function ensureSchemaRegistry(log: Log): Promise<string> {
  const cached = runnerJar();
  if (cached) return cached;
  log(`Fetching Apicurio Registry from Maven Central into ${registryHome} (first run only, ~140 MB)...`);
  await runVisible('mvn', ['-B', '-f', registryPom, 'dependency:unpack', `-Dregistry.home.dir=${registryHome}`], log);
  const jar = runnerJar();
  if (!jar) throw new Error(`Apicurio Registry runner jar missing in ${registryHome} after mvn`);
  return jar;
}

/** Starts Apicurio Registry with file-backed H2 storage; resolves when it reports ready. */
export async function startLocalSchemaRegistry(o: LocalSchemaRegistryOptions): Promise<LocalSchemaRegistry> {
  const jar = await ensureSchemaRegistry(o.log);
  const home = path.join(o.dataDir, 'schema-registry');
  mkdirSync(home, { recursive: true });
  const registry = new ManagedProcess('schema-registry', path.join(home, 'registry.pid'), path.join(home, 'registry.log'));
  await registry.reapOrphan(o.log);
  registry.start('java', ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', jar], {
    ...process.env,
    HTTP_PORT: String(o.port),
    QUARKUS_HTTP_HOST: '127.0.0.1',
    REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${path.join(home, 'registry_db')}`,
    QUARKUS_LOG_LEVEL: 'WARN',
  });
  const base = `http://localhost:${o.port}`;
  try {
    await waitFor('schema registry', async () => {
      const res = await fetch(`${base}/health/ready`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    }, 90_000, () => registry.exited);
  } catch (error) {
    await registry.stop();
    throw new Error(`${String(error)} (see ${path.join(home, 'registry.log')})`);
  }
  const url = `${base}/apis/ccompat/v7`;
  o.log(`schema registry: ready at ${url}`);
  return { url, stop: () => registry.stop() };
}
