import type { ClickHouseClient } from '@clickhouse/client';

export type ProjectionState = 'building' | 'serving' | 'retired';

export interface ProjectionRow {
  projection: number;
  state: ProjectionState;
}

/**
 * Which projections exist (0005_projections.sql), re-read every `refreshMs`: writers feed every
 * active one (serving and building), readers read the served one. A replay flips the pointer
 * with one insert, so a reader sees either the old numbers or the new, never a mix.
 */
export class Projections {
  private rows: ProjectionRow[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly clickhouse: ClickHouseClient, private readonly refreshMs = 1_000) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<ProjectionRow[]> {
    const result = await this.clickhouse.query({
      query: 'SELECT projection, state FROM projections FINAL ORDER BY projection',
      format: 'JSONEachRow',
    });
    this.rows = (await result.json<ProjectionRow>()).map((r) => ({ projection: Number(r.projection), state: r.state }));
    return this.rows;
  }

  /** The projection the api serves: the newest one serving. */
  served(): number {
    const serving = this.rows.filter((r) => r.state === 'serving');
    const newest = serving.at(-1);
    if (!newest) throw new Error('no serving projection (migrations not applied?)');
    return newest.projection;
  }

  /** Every projection live writers feed: the served one and any being built by a replay. */
  active(): number[] {
    return this.rows.filter((r) => r.state !== 'retired').map((r) => r.projection);
  }

  list(): ProjectionRow[] {
    return [...this.rows];
  }
}
