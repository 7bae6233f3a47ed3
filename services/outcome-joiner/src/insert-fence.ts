/**
 * Keeps the settle loop's watermark behind every insert still committing. Rows get their
 * `written_at` when an insert starts but become visible when it commits; a pass that fixed its
 * watermark between the two would skip them for good. Inserts run inside `insert` (any number at
 * once); a pass fixes its watermark inside `fence`, which waits for the inserts in flight and
 * holds new ones back meanwhile (a few milliseconds).
 */
export class InsertFence {
  private inFlight = 0;
  private drained: (() => void)[] = [];
  private fenced: Promise<void> | undefined;

  async insert<T>(write: () => Promise<T>): Promise<T> {
    while (this.fenced) await this.fenced;
    this.inFlight++;
    try {
      return await write();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  async fence<T>(read: () => Promise<T>): Promise<T> {
    while (this.fenced) await this.fenced;
    let release!: () => void;
    this.fenced = new Promise<void>((resolve) => (release = resolve));
    try {
      if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      return await read();
    } finally {
      this.fenced = undefined;
      release();
    }
  }
}
