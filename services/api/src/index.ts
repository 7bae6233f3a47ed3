export { startApi, type ApiService, type ApiDeps } from './service.js';
export { loadApiConfig, type ApiConfig } from './config.js';
