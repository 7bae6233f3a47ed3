export * from './kafka.js';
export * from './schema-registry.js';
export * from './stack.js';
export { repoRoot, cacheDir } from './paths.js';
export { freePort } from './ports.js';
