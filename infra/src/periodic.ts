import type { Logger } from './logger.js';

/**
 * A pass of work run every `intervalMs` (the next one starts an interval after the last ended,
 * so passes never pile up), and on demand with `runOnce()`: passes never overlap, a pass asked
 * for while one runs starts after it. A failed pass is logged and retried at the next tick;
 * `isHealthy` is false until a pass succeeds again.
 */
export class PeriodicPass<R> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly o: { name: string; intervalMs: number; log: Logger; pass: () => Promise<R> },
  ) {}

  get isHealthy(): boolean {
    return !this.failing;
  }

  start(): void {
    const tick = () => {
      this.running = this.runOnce()
        .then(() => void (this.failing = false))
        .catch((error: unknown) => {
          this.failing = true;
          this.o.log.warn({ event: `${this.o.name}_failed`, err: error }, `${this.o.name} pass failed; retrying`);
        })
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass, after any pass under way. */
  runOnce(): Promise<R> {
    const pass = this.queue.then(() => this.o.pass());
    this.queue = pass.catch(() => undefined);
    return pass;
  }
}
