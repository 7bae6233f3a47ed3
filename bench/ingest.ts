/**
 * Issue 3: usage events per second accepted end to end over HTTP (POST /v1/usage, a JSON
 * array, 202 only once Kafka acknowledged every event) at batches of 1, 100 and 1,000 events,
 * side by side in one run with Kafka's own ProducerPerformance on the same broker at the same
 * record size. Target: at 1,000-event batches, at least half of Kafka's own producer rate.
 */
import { loadavg } from 'node:os';
import { devKeys, devKeysEnv, keyRingFor, parseEnv, registerAvroSchemas, valueSubject, type SchemaRegistry } from '@tokenledger/infra';
import { loadIngestConfig, startIngest, type IngestConfig, type IngestService } from '@tokenledger/ingest';
import { topics, usageEventAvro } from '@tokenledger/schemas';
import { describeFleet, usagePayloads, usageEvents } from './lib/fleet.js';
import { runHttpLoad, type HttpLoadResult } from './lib/http-load.js';
import { runProducerPerformance, type ProducerPerfResult } from './lib/producer-perf.js';
import { profiled, renderProfile, summarize, type Stage } from './lib/profile.js';
import { progress, type Benchmark, type BenchReport } from './lib/report.js';
import { benchSeconds, type BenchSettings } from './lib/settings.js';
import { freePort, withStack, type BenchStack } from './lib/stack.js';
import { count, oneDecimal, ratio } from './lib/table.js';

const TENANT = 'bench';
const TARGET = 0.5;
/** Events per request, and requests in flight: enough to keep the ingest busy at each size. */
const BATCHES = [
  { size: 1, concurrency: 32 },
  { size: 100, concurrency: 16 },
  { size: 1_000, concurrency: 8 },
] as const;
/** The ingest's steps, for the profile. */
const STAGES: Stage[] = [
  { label: 'request body: UTF-8 decode, strict JSON parse (parseBatch)', functionName: 'parseBatch', file: 'services/ingest/' },
  { label: 'validation: fast path, zod when unsure (validateUsage)', functionName: 'validateUsage' },
  { label: 'normalization (normalizeUsage)', functionName: 'normalizeUsage' },
  { label: '… of which derived event ids: sha256 of canonical JSON (deriveEventId)', functionName: 'deriveEventId' },
  { label: 'Avro encoding, Confluent wire format (WireEncoder)', functionName: 'encode', file: 'services/ingest/src/wire' },
  { label: 'hand-over to an encoder thread (EncoderPool.prepare)', functionName: 'prepare', file: 'services/ingest/src/encoder-pool' },
  { label: 'hand-over to the producer thread (ThreadPublisher.publishPacked)', functionName: 'publishPacked', file: 'services/ingest/src/thread-publisher' },
  // With INGEST_PRODUCER_THREAD=false kafkajs runs here; otherwise on the producer thread, which this profile does not see.
  { label: 'kafkajs: partitioning, grouping (createProducerRequests)', functionName: 'createProducerRequests' },
  { label: 'kafkajs: produce request encoding (record batches)', functionName: '', file: 'kafkajs/src/protocol/requests/produce/' },
];
/** ProducerPerformance's first run sizes the later ones to about BENCH_SECONDS (and warms the broker). */
const CALIBRATION_RECORDS = 100_000;

export const ingestBenchmark: Benchmark = {
  name: 'ingest',
  summary: 'usage events/s accepted over HTTP at batches of 1, 100, 1,000 vs Kafka ProducerPerformance',
  run: (settings) => withStack('ingest', settings, (stack) => benchmarkIngest(stack, settings)),
};

/** Size of the fleet's usage events in Confluent wire format (magic byte, schema id, Avro), and of their keys. */
async function recordSize(registry: SchemaRegistry): Promise<{ value: number; key: number }> {
  const subject = valueSubject(topics.usage);
  const schemaId = (await registerAvroSchemas(registry, [{ subject, schema: usageEventAvro }])).get(subject)!;
  const sample = usageEvents(TENANT, usagePayloads(1_000, 7));
  const values = await Promise.all(sample.map((event) => registry.encode(schemaId, event)));
  const mean = (sizes: number[]) => Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
  return { value: mean(values.map((v) => v.length)), key: mean(sample.map((e) => Buffer.byteLength(`${e.tenant_id}/${e.run_id}`))) };
}

interface HttpPhase {
  /** The ingest's INGEST_ENCODER_THREADS. */
  encoderThreads: number;
  batchSize: number;
  concurrency: number;
  load: HttpLoadResult;
  /** The machine's 1-minute load average as the phase ended. */
  loadAverage: number;
}

/** Everything one run of the benchmark measured. */
interface Measured {
  recordSize: { value: number; key: number };
  /** Records per ProducerPerformance run. */
  records: number;
  kafka: ProducerPerfResult[];
  phases: HttpPhase[];
  /** Whether the ingest ran its Kafka producer on its own thread (INGEST_PRODUCER_THREAD). */
  producerThread: boolean;
  /** The INGEST_ENCODER_THREADS settings compared, in the order run. */
  encoderThreads: number[];
  profile?: string;
}

const ingestSeconds = (settings: BenchSettings): number => benchSeconds(settings, 15);
const warmupSeconds = (settings: BenchSettings): number => Math.min(3, ingestSeconds(settings) / 3);

async function benchmarkIngest(stack: BenchStack, settings: BenchSettings): Promise<BenchReport> {
  const keys = devKeys(parseEnv(devKeysEnv, { TOKENLEDGER_DEV_TENANT: TENANT }));
  // The ingest's own knobs (INGEST_PRODUCER_THREAD, INGEST_LINGER_MS, ...) pass through from the environment.
  const ingestKnobs = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('INGEST_')));
  const configFor = async (encoderThreads?: number) => loadIngestConfig({
    ...ingestKnobs, ...stack.env, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(await freePort()),
    ...(encoderThreads === undefined ? {} : { INGEST_ENCODER_THREADS: String(encoderThreads) }),
  });
  // Each setting compared gets its own ingest, all started up front; the phases alternate between them.
  const configs: IngestConfig[] = [];
  for (const threads of settings.BENCH_ENCODER_THREADS ?? [undefined]) configs.push(await configFor(threads)); // one after the other: distinct free ports
  const ingests: IngestService[] = [];
  try {
    for (const config of configs) ingests.push(await startIngest(config, { logger: stack.logger, keys: keyRingFor(keys), registry: stack.registry }));
    const recordSizes = await recordSize(stack.registry);
    let perfRuns = 0;
    const producerPerf = (records: number) =>
      runProducerPerformance({ kafka: stack.kafka, brokers: stack.brokers, topic: `bench.producer-perf.${++perfRuns}`, records, recordSize: recordSizes.value });
    const httpLoad = async (variant: number, batchSize: number, concurrency: number): Promise<HttpPhase> => {
      const encoderThreads = configs[variant]!.INGEST_ENCODER_THREADS;
      const load = await runHttpLoad({
        url: `${ingests[variant]!.url}/v1/usage`, key: keys.ingest, batchSize, concurrency,
        warmupSeconds: warmupSeconds(settings), seconds: ingestSeconds(settings), seed: batchSize,
      });
      const loadAverage = loadavg()[0]!;
      progress(`ingest (${encoderThreads} encoder threads), ${batchSize}-event batches × ${concurrency} in flight: ${count(load.events / load.seconds)} events/s, load ${oneDecimal(loadAverage)}`);
      return { encoderThreads, batchSize, concurrency, load, loadAverage };
    };

    const calibration = await producerPerf(CALIBRATION_RECORDS);
    const records = Math.max(CALIBRATION_RECORDS, Math.round(calibration.recordsPerSec * ingestSeconds(settings)));
    // Kafka before and after the HTTP phases: their spread shows the machine's noise.
    const kafkaBefore = await producerPerf(records);
    progress(`ProducerPerformance: ${count(kafkaBefore.recordsPerSec)} records/s`);
    const phases: HttpPhase[] = [];
    for (const batch of BATCHES) {
      for (const variant of configs.keys()) phases.push(await httpLoad(variant, batch.size, settings.BENCH_CONCURRENCY ?? batch.concurrency));
    }
    const kafkaAfter = await producerPerf(records);
    progress(`ProducerPerformance: ${count(kafkaAfter.recordsPerSec)} records/s`);
    const measured: Measured = {
      recordSize: recordSizes, records, kafka: [kafkaBefore, kafkaAfter], phases, producerThread: configs[0]!.INGEST_PRODUCER_THREAD,
      encoderThreads: configs.map((c) => c.INGEST_ENCODER_THREADS),
    };

    if (settings.BENCH_PROFILE) {
      const largest = BATCHES[BATCHES.length - 1]!;
      const run = await profiled('ingest', () => httpLoad(0, largest.size, settings.BENCH_CONCURRENCY ?? largest.concurrency));
      const title = `ingest main thread, ${largest.size}-event batches, ${configs[0]!.INGEST_ENCODER_THREADS} encoder threads (an extra run, not in the table)`;
      measured.profile = renderProfile(title, run.file, summarize(run.profile, STAGES));
    }
    return report(settings, measured);
  } finally {
    for (const ingest of ingests) await ingest.stop();
  }
}

function report(settings: BenchSettings, m: Measured): BenchReport {
  const kafkaRate = m.kafka.reduce((sum, k) => sum + k.recordsPerSec, 0) / m.kafka.length;
  const rate = (p: HttpPhase) => p.load.events / p.load.seconds;
  const failures = (p: HttpPhase) => Object.entries(p.load.failures).map(([what, n]) => `${n}× ${what}`).join(', ') || '0';
  const largestSize = BATCHES[BATCHES.length - 1]!.size;
  // The headline: each setting compared, at the largest batches.
  const headline = m.phases.filter((p) => p.batchSize === largestSize).map((p) => ({ phase: p, achieved: rate(p) / kafkaRate }));
  const compared = m.encoderThreads.length > 1;
  const setting = (p: HttpPhase) => (compared ? ` (INGEST_ENCODER_THREADS=${p.encoderThreads})` : '');
  const { value, key } = m.recordSize;
  return {
    name: 'ingest',
    title: 'usage events per second accepted over HTTP vs Kafka’s own producer',
    configuration: [
      `Record: a typical usage event is ${value} bytes in Confluent wire format (Avro through the registry), its key \`tenant/run_id\` ${key} bytes. ProducerPerformance sends unkeyed ${value}-byte records.`,
      `Both producers: acks=all, idempotent, one broker (KRaft), topics of 6 partitions. Kafka runs ${count(m.records)} records per run, before and after the HTTP phases; the reference is their mean.`,
      `Ingest: Kafka producer ${m.producerThread ? 'on its own worker thread' : 'on the HTTP thread'} (INGEST_PRODUCER_THREAD=${m.producerThread}); request bodies read, validated and encoded ${m.encoderThreads.map((n) => (n === 0 ? 'on the HTTP thread (INGEST_ENCODER_THREADS=0)' : `on ${n} encoder thread${n === 1 ? '' : 's'} (INGEST_ENCODER_THREADS=${n})`)).join(' vs ')}${compared ? ', one ingest each, phases alternating between them' : ''}.`,
      `HTTP: POST /v1/usage, JSON array, Bearer ingest key, keep-alive node:http from a separate Node process; ${oneDecimal(warmupSeconds(settings))} s warm-up, then ${ingestSeconds(settings)} s measured per batch size; events counted from 202 answers completed in the window.`,
      describeFleet(usagePayloads(20_000, 1)),
      'Everything (broker, registry, ingest, load client, Kafka’s producer) shares this machine’s cores.',
    ],
    table: {
      headers: ['producer', 'events/request', 'in flight', 'events/s', 'vs Kafka', 'latency ms', 'ingest CPU', 'client CPU', 'load', 'failed'],
      rows: [
        ...m.kafka.map((k, i) => [
          `Kafka ProducerPerformance (${i === 0 ? 'before' : 'after'})`, '–', '–', count(k.recordsPerSec), ratio(k.recordsPerSec / kafkaRate),
          `avg ${count(k.avgLatencyMs)}, max ${count(k.maxLatencyMs)}`, '–', '–', '–', '–',
        ]),
        ...m.phases.map((p) => [
          `ingest over HTTP${setting(p)}`, count(p.batchSize), String(p.concurrency), count(rate(p)), ratio(rate(p) / kafkaRate),
          `p50 ${oneDecimal(p.load.latencyMs.p50)}, p99 ${oneDecimal(p.load.latencyMs.p99)}`,
          ratio(p.load.serverCpuCores), ratio(p.load.clientCpuCores), oneDecimal(p.loadAverage), failures(p),
        ]),
      ],
    },
    verdict: `Target: at ${count(largestSize)}-event batches ≥ ${ratio(TARGET)} × Kafka’s producer rate. Measured ${headline
      .map(({ phase, achieved }) => `${ratio(achieved)}${setting(phase)}: ${achieved >= TARGET ? 'met' : 'missed'}`).join('; ')}.`,
    figures: headline.map(({ phase, achieved }) => ({
      figure: `ingest: usage events/s over HTTP at ${count(largestSize)}-event batches vs Kafka’s ProducerPerformance${setting(phase)}`,
      measured: `${count(rate(phase))} vs ${count(kafkaRate)}: ${ratio(achieved)}`, target: `≥ ${ratio(TARGET)}`, met: achieved >= TARGET,
    })),
    notes: [
      'Latency: per HTTP request (until Kafka acknowledged all its events) for ingest; per record for Kafka’s producer.',
      'CPU, in cores over the measured window (1.00 = one core busy throughout): the ingest process (HTTP, encoder and producer threads, libuv and GC) and the load-generating client. Kafka’s broker uses the rest.',
      'Load: the machine’s 1-minute load average as the phase ended (2 cores).',
    ],
    ...(m.profile ? { profile: m.profile } : {}),
  };
}
