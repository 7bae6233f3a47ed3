import { Partitioners, type ICustomPartitioner } from 'kafkajs';

/** Keys remembered before the memory starts over: a few minutes of runs at full speed. */
const MAX_KEYS = 100_000;

/**
 * kafkajs' default partitioner, remembered per key: a keyed message's partition is a function
 * of its key and the partition count alone (murmur2, as Kafka's Java client), and a run's
 * events share a key, so most messages skip the hash (and the default partitioner's per-call
 * scan of the partition list). Unkeyed or pre-placed messages go to the default partitioner.
 */
export const RememberingPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  let partitionCount = 0;
  const partitions = new Map<string, number>();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (typeof message.key !== 'string' || message.partition != null) return partitioner(args);
    if (partitionMetadata.length !== partitionCount || partitions.size >= MAX_KEYS) {
      partitions.clear();
      partitionCount = partitionMetadata.length;
    }
    let partition = partitions.get(message.key);
    if (partition === undefined) {
      partition = partitioner(args);
      partitions.set(message.key, partition);
    }
    return partition;
  };
};
