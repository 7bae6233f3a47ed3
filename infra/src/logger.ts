import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs with stable snake_case event names: `log.info({ event: 'batch_written', rows }, '...')`.
 * Services log to stdout; command-line tools pass `toStderr` so their output stays clean.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', toStderr = false): Logger {
  return pino({ level, base: { service } }, pino.destination(toStderr ? 2 : 1));
}
