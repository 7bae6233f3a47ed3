import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root: infra/src/local → ../../.. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Git-ignored cache for downloaded jars; survives `rm -rf data`. */
export const cacheDir = process.env.TOKENLEDGER_CACHE_DIR ?? path.join(repoRoot, '.cache');
