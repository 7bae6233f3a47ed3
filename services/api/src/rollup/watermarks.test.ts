import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@tokenledger/infra';
import { Watermarks } from './watermarks.js';

/** Answers rollup_progress reads with the next of `answers` (an Error rejects), counting them. */
function progressTable(answers: (string | Error)[]) {
  const reads: Record<string, unknown>[] = [];
  const client = {
    query: async ({ query_params }: { query_params: Record<string, unknown> }) => {
      reads.push(query_params);
      const next = answers[reads.length - 1];
      if (next instanceof Error) throw next;
      return { json: async () => [{ written_until: next, rolled: '1' }] };
    },
  } as unknown as ClickHouseClient;
  return { client, reads };
}

describe('Watermarks', () => {
  it('reads each rollup and projection at most once per max age, and again after it', async () => {
    let now = 1_000;
    const { client, reads } = progressTable(['w1', 'w2', 'w3']);
    const watermarks = new Watermarks(client, 1_000, () => now);
    expect(await watermarks.get('usage_hourly', 1)).toBe('w1');
    now += 999;
    expect(await watermarks.get('usage_hourly', 1)).toBe('w1');
    expect(await watermarks.get('usage_hourly', 2)).toBe('w2');
    now += 1;
    expect(await watermarks.get('usage_hourly', 1)).toBe('w3');
    expect(reads.map((r) => [r.name, r.projection])).toEqual([['usage_hourly', 1], ['usage_hourly', 2], ['usage_hourly', 1]]);
  });

  it('does not keep a failed read', async () => {
    const { client, reads } = progressTable([new Error('ClickHouse down'), 'w1']);
    const watermarks = new Watermarks(client, 60_000, () => 0);
    await expect(watermarks.get('run_totals', 1)).rejects.toThrow('ClickHouse down');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await watermarks.get('run_totals', 1)).toBe('w1');
    expect(reads).toHaveLength(2);
  });
});
