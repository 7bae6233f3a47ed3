export { startAttributor, type AttributorService, type AttributorDeps } from './service.js';
export { loadAttributorConfig, type AttributorConfig } from './config.js';
export { startReplay, type ReplayJob, type ReplayOptions, type ReplayStatus, type ReplayDeps } from './replay.js';
export type { WhatIfReport } from './what-if.js';
export { ConfigStore } from './config-store.js';
