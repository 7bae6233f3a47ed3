export { startApi, type ApiService, type ApiDeps } from './service.js';
export { loadApiConfig, type ApiConfig } from './config.js';
export { UsageRollup, type UsageRollupOptions, type RollupPass } from './rollup/usage-hourly-job.js';
/** The outcome rollup's two writes of a slice of hours, for tests that stage a pass crashed between them and its record. */
export { rollUpOutcomeHoursSql, stageMembersSql } from './rollup/outcome-hourly-sql.js';
