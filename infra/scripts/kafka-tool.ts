/**
 * Runs one of Kafka's own tools from the jars the project resolved, e.g.
 *   npm run kafka:tool -- org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --list
 *   npm run kafka:tool -- org.apache.kafka.tools.ProducerPerformance --topic t --num-records 100000 \
 *     --record-size 400 --throughput -1 --bootstrap-server localhost:9092
 */
import { spawnSync } from 'node:child_process';
import { ensureKafkaJars, kafkaClasspath } from '@tokenledger/infra/local';

const [mainClass, ...args] = process.argv.slice(2);
if (!mainClass) {
  process.stderr.write('usage: npm run kafka:tool -- <main class> [args...]\n');
  process.exit(2);
}
await ensureKafkaJars((m) => process.stderr.write(`${m}\n`));
const result = spawnSync('java', ['-cp', kafkaClasspath, mainClass, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
