import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs with stable snake_case event names: `log.info({ event: 'batch_written', rows }, '...')`. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service } });
}
