import { Counter, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(registry: Registry) {
  return {
    accepted: new Counter({
      name: 'tokenledger_ingest_events_accepted_total',
      help: 'Events acknowledged by Kafka',
      labelNames: ['kind'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'tokenledger_ingest_events_rejected_total',
      help: 'Events rejected, by the first offending field',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    skippedSpans: new Counter({
      name: 'tokenledger_ingest_spans_skipped_total',
      help: 'OTLP spans without GenAI usage attributes',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'tokenledger_ingest_batch_size',
      help: 'Events per request',
      labelNames: ['kind'],
      buckets: [1, 10, 100, 500, 1000, 5000, 10000],
      registers: [registry],
    }),
    produceSeconds: new Histogram({
      name: 'tokenledger_ingest_produce_seconds',
      help: 'Time from publish to Kafka acknowledgement',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    requestsFailed: new Counter({
      name: 'tokenledger_ingest_requests_failed_total',
      help: 'Requests answered 4xx/5xx as a whole',
      labelNames: ['status'],
      registers: [registry],
    }),
  };
}
