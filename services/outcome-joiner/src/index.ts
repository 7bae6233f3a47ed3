export { startJoiner, type JoinerService, type JoinerDeps } from './service.js';
export { loadJoinerConfig, type JoinerConfig } from './config.js';
