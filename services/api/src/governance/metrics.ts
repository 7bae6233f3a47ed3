import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type GovernanceMetrics = ReturnType<typeof createGovernanceMetrics>;

/** What the evaluator did: passes, alerts decided and published, webhook deliveries. */
export function createGovernanceMetrics(registry: Registry) {
  return {
    passes: new Counter({
      name: 'tokenledger_governance_passes_total',
      help: 'Evaluation passes over every tenant\'s budgets and stop-loss rules',
      labelNames: ['result'],
      registers: [registry],
    }),
    passSeconds: new Histogram({
      name: 'tokenledger_governance_pass_seconds',
      help: 'Duration of one evaluation pass (evaluate, record, publish, deliver)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    lastPassTimestamp: new Gauge({
      name: 'tokenledger_governance_last_pass_timestamp_seconds',
      help: 'When the last pass completed (Unix seconds): alert on it standing still',
      registers: [registry],
    }),
    evaluatedProjection: new Gauge({
      name: 'tokenledger_governance_evaluated_projection',
      help: 'The fact projection the last pass read (the served one)',
      registers: [registry],
    }),
    alertsDecided: new Counter({
      name: 'tokenledger_governance_alerts_decided_total',
      help: 'Alerts decided (a rule tripped or cleared in a window), each counted once',
      labelNames: ['transition'],
      registers: [registry],
    }),
    alertsPublished: new Counter({
      name: 'tokenledger_governance_alerts_published_total',
      help: 'Alerts acknowledged by the alerts topic',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'tokenledger_governance_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by result (delivered: 2xx; failed: retried later; dropped: webhook removed)',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
