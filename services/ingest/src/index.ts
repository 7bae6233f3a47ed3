export { startIngest, type IngestService, type IngestDeps } from './service.js';
export { ingestEnv, loadIngestConfig, type IngestConfig } from './config.js';
