import path from 'node:path';
import { z } from 'zod';
import { clickHouseEnv } from './clickhouse.js';
import { kafkaEnv } from './kafka.js';

/** Environment every service reads: where Kafka, the registry, ClickHouse and local data are. */
export const platformEnv = kafkaEnv.extend(clickHouseEnv.shape).extend({
  /** Local state: embedded ClickHouse, broker data when launched locally. */
  TOKENLEDGER_DATA_DIR: z.string().min(1).default('./data').transform((p) => path.resolve(p)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type PlatformEnv = z.infer<typeof platformEnv>;
