export { startAttributor, type AttributorService, type AttributorDeps } from './service.js';
export { loadAttributorConfig, type AttributorConfig } from './config.js';
