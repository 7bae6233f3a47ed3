/** Kafka topics: the source of truth. ClickHouse facts are projections of them. */
export const topics = {
  /** Usage events (one LLM call each), keyed `tenant/run_id` so a run stays on one partition. */
  usage: 'tokenledger.usage.v1',
  /** Business outcome events, keyed `tenant/outcome_id`. */
  outcomes: 'tokenledger.outcomes.v1',
  /** Event-sourced configuration (prices, rules, directory, projects, budgets): compacted. */
  config: 'tokenledger.config.v1',
  /** Messages a consumer could not process, with the reason and original bytes. */
  deadLetter: 'tokenledger.dead-letter.v1',
  /** Budget and stop-loss alerts. */
  alerts: 'tokenledger.alerts.v1',
} as const;

export type TopicName = (typeof topics)[keyof typeof topics];

/** Partition counts sized for a small cluster; raise for more consumer parallelism. */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configEntries?: { name: string; value: string }[];
}

export function topicSpecs(partitions = 6): TopicSpec[] {
  const retained = { name: 'retention.ms', value: '-1' }; // facts are rebuilt from the topics: keep them
  return [
    { topic: topics.usage, numPartitions: partitions, configEntries: [retained] },
    { topic: topics.outcomes, numPartitions: partitions, configEntries: [retained] },
    { topic: topics.config, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: topics.deadLetter, numPartitions: 1, configEntries: [retained] },
    { topic: topics.alerts, numPartitions: 1 },
  ];
}
