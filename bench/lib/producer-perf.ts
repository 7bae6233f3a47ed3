import { spawn } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from '@tokenledger/infra';
import { kafkaClasspath } from '@tokenledger/infra/local';
import { PARTITIONS } from './stack.js';

/** The final summary line of Kafka's ProducerPerformance. */
export interface ProducerPerfResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

// e.g. "500000 records sent, 123456.7 records/sec (70.65 MB/sec), 120.5 ms avg latency, 560.0 ms max latency, 101 ms 50th, ..."
const SUMMARY = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency/;

export function parseProducerPerfSummary(output: string): ProducerPerfResult {
  const lines = output.split('\n').filter((line) => SUMMARY.test(line) && line.includes('50th'));
  const match = SUMMARY.exec(lines.at(-1) ?? '');
  if (!match) throw new Error(`no ProducerPerformance summary in its output:\n${output.slice(-2_000)}`);
  const [, records, perSec, mb, avg, max] = match.map(Number);
  return { records: records!, recordsPerSec: perSec!, mbPerSec: mb!, avgLatencyMs: avg!, maxLatencyMs: max! };
}

export interface ProducerPerfOptions {
  kafka: Kafka;
  brokers: string[];
  /** A fresh topic per run (created here, with the tokenledger topics' partition count). */
  topic: string;
  records: number;
  recordSize: number;
}

/**
 * Kafka's own producer benchmark on the same broker, with the ingest's delivery guarantees
 * (acks=all, idempotent) and Kafka's default batching: what this broker can take from a
 * producer that does nothing else.
 */
export async function runProducerPerformance(o: ProducerPerfOptions): Promise<ProducerPerfResult> {
  const admin = o.kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: o.topic, numPartitions: PARTITIONS }]);
  await admin.disconnect();
  const output = await capture('java', [
    '-Xms256m', '-Xmx512m', '-cp', kafkaClasspath, 'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server', o.brokers.join(','),
    '--topic', o.topic,
    '--num-records', String(o.records),
    '--record-size', String(o.recordSize),
    '--throughput', '-1',
    '--command-property', 'acks=all', 'enable.idempotence=true',
  ]);
  return parseProducerPerfSummary(output);
}

function capture(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} exited with ${code}:\n${output.slice(-2_000)}`))));
  });
}
