import { Readable } from 'node:stream';
import { z } from 'zod';
import { usageFrom, usageScope } from '../facts-sql.js';
import { allocationColumnsSql, focusHeader, focusRecord, type AllocationRow } from '../focus.js';
import { rangeFields } from '../params.js';
import { rangeParams } from '../reader.js';
import { defineRoute } from '../route.js';

/** Bytes of CSV gathered before a chunk is handed to the socket. */
const CHUNK_CHARS = 64 * 1024;

/** `2026-10-01T00:00:00Z` without the characters file systems dislike. */
const fileTime = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z').replace(/:/g, '');

async function* csv(rows: AsyncIterable<AllocationRow>): AsyncGenerator<string> {
  let chunk = focusHeader();
  for await (const row of rows) {
    chunk += focusRecord(row);
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

export const focusExportRoute = defineRoute({
  method: 'GET',
  path: '/v1/export/focus',
  summary: 'Token cost as FinOps FOCUS 1.2 rows (CSV), one per usage allocation, with run, trace and attribution as x_ columns',
  tags: ['export'],
  roles: ['query', 'admin'],
  query: z.strictObject({ ...rangeFields }),
  response: z.string().describe('CSV (RFC 4180) with a header row; see the x_ columns for tokenledger fields'),
  produces: 'text/csv',
  async handler({ reader, range, reply }) {
    const rows = await reader.stream<AllocationRow>(
      `SELECT ${allocationColumnsSql}
       FROM ${usageFrom}
       WHERE ${usageScope}
       ORDER BY occurred_at, event_id, alloc_index`,
      rangeParams(range),
    );
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="tokenledger-focus-${fileTime(range.from)}-${fileTime(range.to)}.csv"`)
      .send(Readable.from(csv(rows)));
  },
});
