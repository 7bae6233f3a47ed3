export { startApi, type ApiService, type ApiDeps } from './service.js';
export { loadApiConfig, type ApiConfig } from './config.js';
export { UsageRollup, type UsageRollupOptions, type RollupPass } from './rollup/usage-hourly-job.js';
