import { configEventAvro, configEventSchema, topics, type ConfigFold } from '@tokenledger/schemas';
import type { Kafka } from 'kafkajs';
import type { Logger } from './logger.js';
import { AvroDecoder, type SchemaRegistry } from './registry.js';
import { TopicReader } from './topic-reader.js';

/**
 * Folds the config topic into `store`: everything on it before `start()` resolves, then every
 * change as it arrives. A change that fails validation is logged and counted, never applied.
 */
export function configFeed(
  kafka: Kafka, registry: SchemaRegistry, store: Pick<ConfigFold, 'apply'>, log: Logger, onRejected: () => void = () => undefined, name = 'tokenledger-attributor-config',
): TopicReader {
  const decoder = new AvroDecoder(registry, configEventAvro);
  return new TopicReader({
    kafka,
    topic: topics.config,
    name,
    log,
    async onMessage(message) {
      if (!message.value) return;
      const decoded = configEventSchema.safeParse(await decoder.decode(message.value).catch(() => undefined));
      const result = decoded.success ? store.apply(decoded.data, Number(message.offset)) : { ok: false as const, reason: 'undecodable config event' };
      if (!result.ok) {
        onRejected();
        log.warn({ event: 'config_change_rejected', offset: message.offset, reason: result.reason }, 'config change ignored');
      }
    },
  });
}
