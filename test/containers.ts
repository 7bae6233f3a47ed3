import { GenericContainer, Network, Wait, type StartedTestContainer } from 'testcontainers';
import type { TestInfra } from './src/infra.js';

/**
 * The Docker path of the test setup: Kafka (KRaft), Apicurio Registry and a ClickHouse server
 * as containers. Used only where a Docker engine runs; this machine uses the local launchers.
 */
export async function startContainers(log: (m: string) => void): Promise<{ infra: Omit<TestInfra, 'runDir'>; stop(): Promise<void> }> {
  log('starting Kafka, Apicurio Registry and ClickHouse with testcontainers');
  const network = await new Network().start();
  const kafkaPort = 19_092;
  const kafka = await new GenericContainer('apache/kafka:4.1.1')
    .withNetwork(network)
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const registry = await new GenericContainer('apicurio/apicurio-registry-mem:2.6.13.Final')
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/health/ready', 8080))
    .start();
  const clickhouse = await new GenericContainer('clickhouse/clickhouse-server:25.8')
    .withExposedPorts(8123)
    .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1' })
    .withWaitStrategy(Wait.forHttp('/ping', 8123))
    .start();
  const started: StartedTestContainer[] = [clickhouse, registry, kafka];
  return {
    infra: {
      brokers: [`localhost:${kafkaPort}`],
      registryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      clickhouseUrl: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
    },
    async stop() {
      for (const c of started) await c.stop();
      await network.stop();
    },
  };
}
