/**
 * Issue 4: usage events per second through the attributor (usage topic in, priced and
 * attributed facts written to embedded ClickHouse) side by side in one process with a bare
 * kafkajs consumer that only decodes the same topic through the registry.
 * Target: at least 60% of the bare decode rate.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { publishConfigChanges, registerAvroSchemas, valueSubject, type ClickHouseClient } from '@tokenledger/infra';
import { loadAttributorConfig, startAttributor } from '@tokenledger/attributor';
import { topics, usageEventAvro, type UsageEvent } from '@tokenledger/schemas';
import { describeFleet, fleetConfig, usageEvents, usagePayloads } from './lib/fleet.js';
import { profiled, renderProfile, summarize, type Stage } from './lib/profile.js';
import { progress, type Benchmark, type BenchReport } from './lib/report.js';
import type { BenchSettings } from './lib/settings.js';
import { freePort, withStack, type BenchStack } from './lib/stack.js';
import { count, oneDecimal, ratio } from './lib/table.js';

const TENANT = 'bench';
const TARGET = 0.6;
/** Messages per produce request while preloading the topic. */
const PRELOAD_BATCH = 10_000;
/** How often the attributor's progress is read from ClickHouse. */
const POLL_MS = 100;

/** The attributor's steps, for the profile. */
const STAGES: Stage[] = [
  { label: 'registry.decode with the reader schema: compile, resolve, read (SchemaRegistry.decode)', functionName: 'decode', file: 'confluent-schema-registry/' },
  { label: '… of which compiling the reader schema again, for every message (schemaFromConfluentSchema)', functionName: 'schemaFromConfluentSchema' },
  { label: 'Avro decode with the reader schema (AvroDecoder.decodeResolved)', functionName: 'decodeResolved' },
  { label: 'contract check after decoding (checkUsageEvent)', functionName: 'checkUsageEvent' },
  { label: 'pricing and attribution (attributeUsage)', functionName: 'attributeUsage' },
  { label: 'fact rows (usageFactValues)', functionName: 'usageFactValues' },
  { label: 'ClickHouse insert (insertEncoded)', functionName: 'insertEncoded' },
];

export const attributorBenchmark: Benchmark = {
  name: 'attributor',
  summary: 'usage events/s through the attributor into ClickHouse vs a bare consumer that only decodes',
  run: (settings) => withStack('attributor', settings, (stack) => benchmarkAttributor(stack, settings)),
};

/** One consumer reading the whole preloaded topic. */
export interface Pass {
  events: number;
  /** From starting the consumer to the last event done: start-up and group join included. */
  seconds: number;
  /** From the first batch done to the last event done: the steady rate's interval and events. */
  steadySeconds: number;
  steadyEvents: number;
  /** CPU of this whole process (every thread, chDB's included) over the pass. */
  cpuSeconds: number;
}

/** Times `body` from its start until it resolves, and from the first progress it reports. */
async function timePass(events: number, body: (mark: (eventsDone: number) => void) => Promise<void>): Promise<Pass> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let first: { at: number; events: number } | undefined;
  await body((eventsDone) => void (first ??= { at: performance.now(), events: eventsDone }));
  const ended = performance.now();
  const used = process.cpuUsage(cpu);
  if (!first) throw new Error('a pass finished without reporting progress');
  return {
    events,
    seconds: (ended - started) / 1000,
    steadySeconds: (ended - first.at) / 1000,
    steadyEvents: events - first.events,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

/** Fills the usage topic with the fleet's events in Avro (Confluent wire format), as ingest would. */
export async function preload(stack: BenchStack, events: UsageEvent[]): Promise<void> {
  const subject = valueSubject(topics.usage);
  const schemaId = (await registerAvroSchemas(stack.registry, [{ subject, schema: usageEventAvro }])).get(subject)!;
  const producer = stack.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += PRELOAD_BATCH) {
      const messages = await Promise.all(
        events.slice(i, i + PRELOAD_BATCH).map(async (e) => ({ key: `${e.tenant_id}/${e.run_id}`, value: await stack.registry.encode(schemaId, e) })),
      );
      await producer.send({ topic: topics.usage, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * (a) The baseline: a kafkajs consumer with the attributor's fetch settings and partition
 * concurrency that decodes every message through the registry and does nothing else.
 */
export function bareDecode(stack: BenchStack, events: number, groupId: string): Promise<Pass> {
  return timePass(events, async (firstBatch) => {
    const consumer = stack.kafka.consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 250 });
    let decoded = 0;
    let allDecoded!: () => void;
    const done = new Promise<void>((resolve) => (allDecoded = resolve));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: topics.usage, fromBeginning: true });
      await consumer.run({
        partitionsConsumedConcurrently: 2,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) await stack.registry.decode(message.value!);
          decoded += batch.messages.length;
          firstBatch(decoded);
          if (decoded >= events) allDecoded();
        },
      });
      await done;
    } finally {
      await consumer.disconnect();
    }
  });
}

async function factCount(clickhouse: ClickHouseClient): Promise<number> {
  const result = await clickhouse.query({
    query: 'SELECT count() AS n FROM usage_facts WHERE tenant_id = {tenant:String}',
    query_params: { tenant: TENANT },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

/** The attributor's own knobs (ATTRIBUTOR_*) set for the run, e.g. ATTRIBUTOR_PARTITIONS_CONCURRENTLY. */
function attributorKnobs(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('ATTRIBUTOR_') && e[1] !== undefined));
}

/** (b) The attributor under a fresh consumer group, from start until every event is a fact. */
async function throughAttributor(stack: BenchStack, clickhouse: ClickHouseClient, events: number, groupId: string): Promise<Pass> {
  await clickhouse.command({ query: 'TRUNCATE TABLE usage_facts' });
  const config = loadAttributorConfig({
    ...stack.env, ...attributorKnobs(), ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_PORT: String(await freePort()), ATTRIBUTOR_GROUP_ID: groupId,
  });
  const deadline = performance.now() + 60_000 + events; // a minute, plus a millisecond per event
  return timePass(events, async (firstFacts) => {
    const service = await startAttributor(config, { logger: stack.logger, clickhouse, registry: stack.registry });
    try {
      for (let facts = 0; facts < events; ) {
        if (performance.now() > deadline) throw new Error(`attributor wrote ${facts} of ${events} facts before the deadline`);
        await sleep(POLL_MS);
        facts = await factCount(clickhouse);
        if (facts > 0) firstFacts(facts);
      }
    } finally {
      await service.stop();
    }
  });
}

/** The facts of the last pass: one per event, priced, and how attribution divided them. */
async function checkFacts(clickhouse: ClickHouseClient, events: number): Promise<string> {
  const rows = await (await clickhouse.query({
    query: `SELECT attribution_tier AS tier, price_status AS status, count() AS n
            FROM usage_facts FINAL WHERE tenant_id = {tenant:String} GROUP BY tier, status ORDER BY n DESC`,
    query_params: { tenant: TENANT },
    format: 'JSONEachRow',
  })).json<{ tier: string; status: string; n: string }>();
  const total = rows.reduce((sum, r) => sum + Number(r.n), 0);
  const share = (n: number) => `${((100 * n) / total).toFixed(0)}%`;
  const byTier = new Map<string, number>();
  for (const r of rows) byTier.set(r.tier, (byTier.get(r.tier) ?? 0) + Number(r.n));
  const unpriced = rows.filter((r) => r.status !== 'priced').reduce((sum, r) => sum + Number(r.n), 0);
  if (total !== events) throw new Error(`expected ${events} facts after deduplication, found ${total}`);
  return (
    `Facts check (last pass, FINAL): ${count(total)} facts, one per event; ` +
    `tiers ${[...byTier].map(([tier, n]) => `${tier} ${share(n)}`).join(', ')}; ${count(unpriced)} not priced.`
  );
}

interface Pair {
  bare: Pass;
  attributor: Pass;
}

/** Everything one run of the benchmark measured. */
interface Measured {
  fleet: string;
  pairs: Pair[];
  /** What the facts of the last pass hold. */
  facts: string;
  profile?: string;
}

async function benchmarkAttributor(stack: BenchStack, settings: BenchSettings): Promise<BenchReport> {
  const n = settings.BENCH_EVENTS;
  const clickhouse = await stack.openClickHouse();
  await publishConfigChanges(stack.kafka, stack.registry, fleetConfig(TENANT));
  const payloads = usagePayloads(n, 11);
  const preloadStarted = performance.now();
  await preload(stack, usageEvents(TENANT, payloads));
  progress(`preloaded ${count(n)} usage events in ${oneDecimal((performance.now() - preloadStarted) / 1000)} s`);

  const pairs: Pair[] = [];
  for (let p = 1; p <= settings.BENCH_PAIRS; p++) {
    const bare = await bareDecode(stack, n, `bench-bare-${p}`);
    progress(`pair ${p}: bare decode ${count(n / bare.seconds)} events/s`);
    const attributor = await throughAttributor(stack, clickhouse, n, `bench-attributor-${p}`);
    progress(`pair ${p}: attributor ${count(n / attributor.seconds)} events/s`);
    pairs.push({ bare, attributor });
  }
  const measured: Measured = { fleet: describeFleet(payloads), pairs, facts: await checkFacts(clickhouse, n) };

  if (settings.BENCH_PROFILE) {
    const bare = await profiled('bare-decode', () => bareDecode(stack, n, 'bench-bare-profiled'));
    const attributor = await profiled('attributor', () => throughAttributor(stack, clickhouse, n, 'bench-attributor-profiled'));
    measured.profile = [
      renderProfile('attributor (an extra pass, not in the table)', attributor.file, summarize(attributor.profile, STAGES)),
      '',
      renderProfile('bare decode consumer (an extra pass, not in the table)', bare.file, summarize(bare.profile), 10),
    ].join('\n');
  }
  return report(settings, measured);
}

function report(settings: BenchSettings, m: Measured): BenchReport {
  const rate = (p: Pass) => p.events / p.seconds;
  const steadyRate = (p: Pass) => p.steadyEvents / p.steadySeconds;
  const cpuPerEvent = (p: Pass) => `${count((1e6 * p.cpuSeconds) / p.events)} µs`;
  const ratios = m.pairs.map(({ bare, attributor }) => rate(attributor) / rate(bare));
  const steadyRatios = m.pairs.map(({ bare, attributor }) => steadyRate(attributor) / steadyRate(bare));
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const row = (pair: number, name: string, pass: Pass, versus?: Pass) => [
    String(pair), name, oneDecimal(pass.seconds), count(rate(pass)), versus ? ratio(rate(pass) / rate(versus)) : '',
    count(steadyRate(pass)), versus ? ratio(steadyRate(pass) / steadyRate(versus)) : '', cpuPerEvent(pass),
  ];
  return {
    name: 'attributor',
    title: 'usage events per second through the attributor vs a bare decoding consumer',
    configuration: [
      `${count(settings.BENCH_EVENTS)} usage events preloaded on ${topics.usage} (6 partitions), Avro through the registry; each pass reads them all under a fresh consumer group.`,
      m.fleet,
      'Bare decode: kafkajs eachBatch with the attributor’s fetch settings (4 MiB per partition, 250 ms max wait, 2 partitions at a time), `registry.decode` per message, nothing else.',
      'Attributor: `startAttributor` as in production (decode with reader schema, contract check, pricing, tiered attribution, capitalization, JSONCompactEachRow insert into embedded chDB, commit after write); done when `usage_facts` holds every event.',
      'The tenant’s configuration (ticket prefixes, a keyword rule, a 30-user directory, projects with ASC 350-40 stages, a negotiated gpt-4o discount) is on the config topic.',
      'Both in this one process, one after the other, pair after pair; broker and registry on the same cores.',
    ],
    table: {
      headers: ['pair', 'consumer', 'seconds', 'events/s', 'vs bare', 'steady events/s', 'vs bare (steady)', 'CPU/event'],
      align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
      rows: m.pairs.flatMap(({ bare, attributor }, i) => [
        row(i + 1, 'bare decode', bare),
        row(i + 1, 'attributor → ClickHouse', attributor, bare),
      ]),
    },
    verdict:
      `Target: attributor ≥ ${ratio(TARGET)} × the bare decode rate. Measured ${ratios.map(ratio).join(', ')} (mean ${ratio(mean)}; ` +
      `steady ${steadyRatios.map(ratio).join(', ')}): ${mean >= TARGET ? 'met' : 'missed'}.`,
    figures: [{
      figure: 'attributor: events/s priced, attributed and written vs a bare read + decode (mean of the pairs)',
      measured: `${ratio(mean)} (pairs ${ratios.map(ratio).join(', ')}; steady ${steadyRatios.map(ratio).join(', ')})`, target: `≥ ${ratio(TARGET)}`, met: mean >= TARGET,
    }],
    notes: [
      'events/s: all events over the whole pass, start-up and group join included (how the issue defines it). Steady: from the first batch done (bare) or first facts visible (attributor, polled every 100 ms) to the last.',
      'CPU/event: CPU time of the whole process (all threads, embedded ClickHouse’s included) over the pass, per event.',
      m.facts,
    ],
    ...(m.profile ? { profile: m.profile } : {}),
  };
}
