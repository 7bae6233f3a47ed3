export { startIngest, type IngestService, type IngestDeps } from './service.js';
export { ingestEnv, loadIngestConfig, type IngestConfig } from './config.js';
export { Publisher, type PublisherOptions } from './publisher.js';
