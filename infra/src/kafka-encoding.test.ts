import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// kafkajs' produce request (v3: record batches), as its producer encodes it. infra/patches makes
// its encoder allocate less (see the patch's header); the bytes must stay exactly kafkajs 2.2.4's.
const require = createRequire(import.meta.url);
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: object) => { encode(): Promise<{ buffer: Buffer }> };
const Long = require('kafkajs/src/utils/long.js') as { fromNumber(n: number): unknown };

/** Deterministic numbers in [0, n), so the request is the same on every run (mulberry32). */
function randomInts(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Every shape the producer can be given: string, Buffer and null keys and values, headers, timestamps near and far (varlong past 32 bits). */
function sampleTopicData() {
  const next = randomInts(2026);
  const base = 1_795_390_641_161;
  return [0, 1, 2].map((partition) => ({
    partition,
    firstSequence: next(2 ** 31),
    messages: Array.from({ length: 150 + next(150) }, () => ({
      key: [null, `tenant/run-${next(1e6)}`, `é€𝄞-${next(99)}`, Buffer.alloc(next(40), next(256))][next(4)],
      value: next(10) === 0 ? null : Buffer.alloc([0, 1, 127, 128, 379, 16_384, 20_000][next(7)]!, next(256)),
      timestamp: String(base - [0, 1, 1_000, 2 ** 31, 2 ** 33][next(5)]!),
      ...(next(4) === 0 ? { headers: { trace: `t-${next(1e3)}`, multi: ['1', '22'] } } : {}),
    })),
  }));
}

describe('kafkajs produce encoding (patched in infra/patches)', () => {
  it('writes exactly the bytes of kafkajs 2.2.4 as published', async () => {
    const request = produceRequest({
      acks: -1, timeout: 30_000, compression: 0, producerId: Long.fromNumber(4_000_000_123), producerEpoch: 7,
      topicData: [{ topic: 'tokenledger.usage.v1', partitions: sampleTopicData() }],
    });
    const { buffer } = await request.encode();
    // Recorded from the unpatched kafkajs 2.2.4 with this same input.
    expect({ bytes: buffer.length, sha256: createHash('sha256').update(buffer).digest('hex') }).toEqual({
      bytes: 2_938_795,
      sha256: 'a5287521fb5aad3cfe86c2d38cac0c3ac7f6adfc629377ea89e7d07b5f1ab0d4',
    });
  });

  it('is patched: varints written in place, CRC-32C in native code', () => {
    for (const file of ['kafkajs/src/protocol/encoder.js', 'kafkajs/src/protocol/recordBatch/crc32C/index.js']) {
      expect(readFileSync(require.resolve(file), 'utf8'), file).toContain('tokenledger patch');
    }
    // The native CRC resolves from where kafkajs is installed (else the patch falls back to the JS loop).
    expect(createRequire(require.resolve('kafkajs')).resolve('@node-rs/crc32')).toContain('@node-rs/crc32');
    const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
    // The standard check value of CRC-32C (Castagnoli).
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});
