import { gzipSync } from 'node:zlib';
import { usageEventAvroType } from '@tokenledger/schemas';
import { describe, expect, it } from 'vitest';
import { HttpError } from './errors.js';
import { usageKind } from './kinds.js';
import { prepareBody, prepareItems } from './prepare.js';
import { packMessages, transferList, unpackMessages, WireEncoder } from './wire.js';

const envelope = { tenantId: 'acme', receivedAt: Date.UTC(2025, 0, 31, 10) };
const usage = (run: string, extra: Record<string, unknown> = {}) => ({ occurred_at: 1_738_315_800_000, provider: 'openai', model: 'gpt-4o', run_id: run, ...extra });
const encoder = () => new WireEncoder(usageEventAvroType, 7);

describe('prepareItems', () => {
  it('encodes the valid items keyed tenant/run, and names the others by index', () => {
    const items = [
      { ok: true as const, value: usage('r1') },
      { ok: false as const, message: 'invalid JSON: Unexpected token' },
      { ok: true as const, value: usage('r2', { provider: 42 }) },
      { ok: true as const, value: usage('r3') },
    ];
    const batch = prepareItems(usageKind, items, envelope, encoder());
    expect(batch.items).toBe(4);
    expect(batch.rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(batch.rejected[0]!.errors).toEqual([{ path: '', message: 'invalid JSON: Unexpected token' }]);
    const messages = unpackMessages(batch.messages);
    expect(messages.map((m) => m.key)).toEqual(['acme/r1', 'acme/r3']);
    for (const [i, m] of messages.entries()) {
      expect(m.value[0]).toBe(0);
      expect(m.value.readInt32BE(1)).toBe(7);
      const event = usageEventAvroType.fromBuffer(m.value.subarray(5)) as { run_id: string; tenant_id: string; received_at: number };
      expect(event).toMatchObject({ run_id: ['r1', 'r3'][i], tenant_id: 'acme', received_at: envelope.receivedAt });
    }
  });
});

describe('prepareBody', () => {
  it('reads gzip NDJSON as prepareItems does the parsed items', async () => {
    const lines = [usage('a'), usage('b')].map((e) => JSON.stringify(e)).join('\n');
    const raw = { body: gzipSync(lines), contentType: 'application/x-ndjson', contentEncoding: 'gzip' };
    const batch = await prepareBody(usageKind, raw, envelope, encoder(), 1024 * 1024);
    const direct = prepareItems(usageKind, [usage('a'), usage('b')].map((value) => ({ ok: true as const, value })), envelope, encoder());
    expect(batch.rejected).toEqual([]);
    expect(unpackMessages(batch.messages)).toEqual(unpackMessages(direct.messages));
  });

  it('refuses a body without events (400) and a type it cannot read (415)', async () => {
    const refusal = (body: string, contentType: string) =>
      prepareBody(usageKind, { body: Buffer.from(body), contentType, contentEncoding: undefined }, envelope, encoder(), 1024).then(
        () => undefined,
        (error: HttpError) => [error.statusCode, error.message],
      );
    expect(await refusal('[]', 'application/json')).toEqual([400, 'body holds no events']);
    expect((await refusal('[]', 'text/csv'))?.[0]).toBe(415);
  });
});

describe('packMessages', () => {
  it('gives the messages back as views of one transferable buffer', () => {
    const messages = [{ key: 'a', value: Buffer.from('xyz') }, { key: 'b', value: Buffer.alloc(0) }, { key: 'c', value: Buffer.from('é') }];
    const packed = packMessages(messages);
    expect(transferList(packed)).toEqual([packed.values, packed.ends.buffer]);
    expect(packed.values.byteLength).toBe(5);
    expect(unpackMessages(packed)).toEqual(messages);
    expect(unpackMessages(packMessages([]))).toEqual([]);
  });
});
