import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { cacheDir, repoRoot } from './paths.js';
import { ManagedProcess, runQuiet, runVisible, waitFor, type Log } from './process.js';

const kafkaPom = path.join(repoRoot, 'infra/kafka/pom.xml');
const log4jConfig = path.join(repoRoot, 'infra/kafka/log4j2.properties');
export const kafkaLibsDir = path.join(cacheDir, 'kafka/libs');
export const kafkaClasspath = `${kafkaLibsDir}/*`;

export interface LocalKafkaOptions {
  /** Broker data, logs and pid file live here. */
  dataDir: string;
  port: number;
  controllerPort: number;
  /** Default partitions for topics created without an explicit count. */
  defaultPartitions?: number;
  log: Log;
}

export interface LocalKafka {
  brokers: string[];
  stop(): Promise<void>;
}

/** Resolves the broker's jars from Maven Central once; later runs use the cache. */
export async function ensureKafkaJars(log: Log): Promise<void> {
  const marker = path.join(kafkaLibsDir, '.complete');
  if (existsSync(marker)) return;
  log(`Fetching Apache Kafka jars from Maven Central into ${kafkaLibsDir} (first run only)...`);
  // Maven prints each artifact as it downloads: that is the visible progress.
  await runVisible('mvn', ['-B', '-f', kafkaPom, 'dependency:copy-dependencies', `-Dkafka.libs.dir=${kafkaLibsDir}`], log);
  const jars = readdirSync(kafkaLibsDir).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith('kafka_2.13-'))) throw new Error('Kafka jars missing after mvn');
  writeFileSync(marker, `${jars.length} jars\n`);
  log(`Kafka jars ready (${jars.length} jars).`);
}

function brokerProperties(o: LocalKafkaOptions, logDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.bootstrap.servers=localhost:${o.controllerPort}`,
    `listeners=PLAINTEXT://localhost:${o.port},CONTROLLER://localhost:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://localhost:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDir}`,
    `num.partitions=${o.defaultPartitions ?? 6}`,
    // Single node: every internal topic has one replica.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Sized for 2 cores: few threads, no idle spinning.
    'num.network.threads=2',
    'num.io.threads=4',
    'background.threads=4',
    'num.recovery.threads.per.data.dir=1',
    'auto.create.topics.enable=false',
    'message.max.bytes=16777216',
    '',
  ].join('\n');
}

/** Formats storage on first use and starts a single-node KRaft broker; resolves once it serves metadata. */
export async function startLocalKafka(o: LocalKafkaOptions): Promise<LocalKafka> {
  await ensureKafkaJars(o.log);
  const home = path.join(o.dataDir, 'kafka');
  const logDir = path.join(home, 'log');
  mkdirSync(home, { recursive: true });
  const propertiesFile = path.join(home, 'server.properties');
  writeFileSync(propertiesFile, brokerProperties(o, logDir));

  const broker = new ManagedProcess('kafka', path.join(home, 'kafka.pid'), path.join(home, 'console.log'));
  await broker.reapOrphan(o.log);

  if (!existsSync(path.join(logDir, 'meta.properties'))) {
    o.log('kafka: formatting KRaft storage');
    await runQuiet('java', ['-cp', kafkaClasspath, 'kafka.tools.StorageTool', 'format', '--standalone',
      '-t', clusterId(), '-c', propertiesFile]);
  }

  broker.start('java', [
    '-Xms512m', '-Xmx1g', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jConfig}`, `-Dkafka.logs.dir=${home}`,
    '-cp', kafkaClasspath, 'kafka.Kafka', propertiesFile,
  ]);

  const brokers = [`localhost:${o.port}`];
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await waitFor('kafka', async () => {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [] });
    }, 90_000, () => broker.exited);
  } catch (error) {
    await broker.stop();
    throw new Error(`${String(error)} (see ${path.join(home, 'server.log')})`);
  } finally {
    await admin.disconnect();
  }
  o.log(`kafka: ready on ${brokers.join(',')}`);
  return { brokers, stop: () => broker.stop() };
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (22 chars). Like Kafka's own
 * `Uuid.randomUuid`, never one that starts with '-': the storage tool would read it as a flag
 * (1 start in 64 failed that way in CI).
 */
export function clusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
