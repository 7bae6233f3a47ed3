/**
 * HTTP load generator, run as its own process (see http-load.ts) so that building and sending
 * requests does not share the event loop of the ingest under test. Keeps `concurrency`
 * requests in flight over keep-alive connections and counts what completes in the window.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { usagePayloads } from './fleet.js';
import { percentile } from './stats.js';

export interface LoadRequest {
  url: string;
  key: string;
  batchSize: number;
  concurrency: number;
  /** Requests completing in the warm-up are not counted. */
  warmupSeconds: number;
  seconds: number;
  seed: number;
}

export interface LoadResult {
  /** Requests answered 202 inside the measured window. */
  requests: number;
  /** Events those requests had accepted (the 202 body's `accepted`). */
  events: number;
  seconds: number;
  /** Every answer but 202, and transport errors, by status or message. */
  failures: Record<string, number>;
  latencyMs: { p50: number; p99: number };
  /** CPU this load generator used in the window, in cores (1 = one core busy throughout). */
  clientCpuCores: number;
}

/** What the client tells its parent: the window's edges (so it can measure itself alike), then the result. */
export type LoadMessage =
  | { kind: 'window'; edge: 'open' | 'close' }
  | { kind: 'result'; result: LoadResult }
  | { kind: 'failed'; error: string };

/** Most milliseconds a request may go without a byte sent or received. */
const REQUEST_TIMEOUT_MS = 60_000;

/** Distinct events the bodies hold between them: bodies are reused, round robin. */
const POOL_EVENTS = 20_000;

export async function generateLoad(o: LoadRequest, onWindow: (edge: 'open' | 'close') => void = () => {}): Promise<LoadResult> {
  const payloads = usagePayloads(Math.max(POOL_EVENTS, o.batchSize * o.concurrency), o.seed);
  const bodies: Buffer[] = [];
  for (let i = 0; i + o.batchSize <= payloads.length; i += o.batchSize) {
    bodies.push(Buffer.from(JSON.stringify(payloads.slice(i, i + o.batchSize))));
  }
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const headers = { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' };
  const measureFrom = performance.now() + o.warmupSeconds * 1000;
  const until = measureFrom + o.seconds * 1000;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let events = 0;
  let next = 0;
  let windowCpu: NodeJS.CpuUsage | undefined;
  let clientCpuSeconds = 0;
  setTimeout(() => {
    windowCpu = process.cpuUsage();
    onWindow('open');
  }, measureFrom - performance.now());
  setTimeout(() => {
    const used = process.cpuUsage(windowCpu);
    clientCpuSeconds = (used.user + used.system) / 1e6;
    onWindow('close');
  }, until - performance.now());

  const fail = (reason: string) => void (failures[reason] = (failures[reason] ?? 0) + 1);
  const sender = async (): Promise<void> => {
    while (performance.now() < until) {
      const body = bodies[next++ % bodies.length]!;
      const sent = performance.now();
      try {
        const response = await post(o.url, agent, headers, body);
        const done = performance.now();
        if (response.status !== 202) fail(String(response.status));
        else if (done >= measureFrom && done <= until) {
          events += (JSON.parse(response.body) as { accepted?: number }).accepted ?? 0;
          latencies.push(done - sent);
        }
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, sender));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    events,
    seconds: o.seconds,
    failures,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    clientCpuCores: clientCpuSeconds / o.seconds,
  };
}

/**
 * One POST over a keep-alive connection. node:http rather than fetch: with fetch this client
 * took 0.34 cores at 1,000-event batches (about 6.5 ms of CPU per 650 KB body), with node:http
 * 0.06, on the same two cores as the ingest under test and the broker.
 */
function post(url: string, agent: Agent, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // As fetch would: a request that stalls fails (counted by its error) instead of hanging the run.
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.end(body);
  });
}

// Run as a child process: one request in, one result out.
if (process.send) {
  process.once('disconnect', () => process.exit(1)); // the benchmark went away: stop sending
  const send = (message: LoadMessage, then: () => void = () => {}) => process.send!(message, then);
  process.once('message', (request: LoadRequest) => {
    generateLoad(request, (edge) => send({ kind: 'window', edge })).then(
      (result) => send({ kind: 'result', result }, () => process.exit(0)),
      (error: unknown) => send({ kind: 'failed', error: String(error) }, () => process.exit(1)),
    );
  });
}
