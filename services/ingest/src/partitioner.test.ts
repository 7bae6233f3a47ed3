import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RememberingPartitioner } from './partitioner.js';

const metadata = (count: number, leader = 1): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader, partitionErrorCode: 0, replicas: [leader], isr: [leader] }));

describe('RememberingPartitioner', () => {
  it('places every keyed message where kafkajs’ default partitioner does, also after the partition count changes', () => {
    const remembering = RememberingPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    for (const count of [6, 6, 12, 1, 6]) {
      const partitionMetadata = metadata(count);
      for (let i = 0; i < 2_000; i++) {
        const message = { key: `acme/run-${i % 300}-é`, value: 'v' };
        expect(remembering({ topic: 't', partitionMetadata, message })).toBe(reference({ topic: 't', partitionMetadata, message }));
      }
    }
  });

  it('honours an explicit partition', () => {
    expect(RememberingPartitioner()({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'v', partition: 4 } })).toBe(4);
  });
});
