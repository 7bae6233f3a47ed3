import type { ClickHouseClient } from '@tokenledger/infra';
import { rollupWatermark } from './usage-hourly-job.js';

/**
 * The rollups' watermarks as readers use them, read from rollup_progress at most once per
 * `maxAgeMs` per rollup and projection, so a request does not start with that round trip. A
 * watermark at most that old is still one a finished pass recorded: a reader holding it only
 * computes more live (everything written since it), so answers stay exact.
 */
export class Watermarks {
  private readonly read = new Map<string, { at: number; watermark: Promise<string | null> }>();

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The watermark of rollup `name` for a projection, or null before its first pass. */
  get(name: string, projection: number): Promise<string | null> {
    const key = `${name}\n${projection}`;
    const held = this.read.get(key);
    if (held && this.now() - held.at < this.maxAgeMs) return held.watermark;
    const watermark = rollupWatermark(this.clickhouse, name, projection);
    this.read.set(key, { at: this.now(), watermark });
    watermark.catch(() => this.read.delete(key));
    return watermark;
  }
}
