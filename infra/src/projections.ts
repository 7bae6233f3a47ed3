import type { ClickHouseClient } from '@clickhouse/client';

export type ProjectionState = 'building' | 'serving' | 'retired';

export interface ProjectionRow {
  projection: number;
  state: ProjectionState;
  /** Configuration version it is computed under; 0 follows the latest. */
  configVersion: number;
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
      query: 'SELECT projection, state, config_version FROM projections FINAL ORDER BY projection',
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ projection: number; state: ProjectionState; config_version: string }>();
    this.rows = rows.map((r) => ({ projection: Number(r.projection), state: r.state, configVersion: Number(r.config_version) }));
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
    return this.activeRows().map((r) => r.projection);
  }

  activeRows(): ProjectionRow[] {
    return this.rows.filter((r) => r.state !== 'retired');
  }

  list(): ProjectionRow[] {
    return [...this.rows];
  }
}
