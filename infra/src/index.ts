export * from './auth.js';
export * from './clickhouse.js';
export * from './env.js';
export * from './http.js';
export * from './kafka.js';
export * from './keys.js';
export * from './logger.js';
export * from './platform.js';
