export { startJoiner, type JoinerService, type JoinerDeps } from './service.js';
export type { Clock } from './settle.js';
export { loadJoinerConfig, type JoinerConfig } from './config.js';
export { joinOutcome, runFact } from './join.js';
export type { OutcomeFact, OutcomeRecord, RunFact, UsageCall } from './model.js';
export { Settler } from './settle.js';
export { InsertFence } from './insert-fence.js';
export { ClickHouseJoinStore } from './clickhouse-store.js';
