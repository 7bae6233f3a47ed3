import { AvroDecoder, TopicReader, type Logger, type SchemaRegistry } from '@tokenledger/infra';
import { configEventAvro, configEventSchema, topics } from '@tokenledger/schemas';
import type { Kafka } from 'kafkajs';
import type { ConfigStore } from './config-store.js';

/**
 * Folds the config topic into `store`: everything on it before `start()` resolves, then every
 * change as it arrives. A change that fails validation is logged and counted, never applied.
 */
export function configFeed(
  kafka: Kafka, registry: SchemaRegistry, store: ConfigStore, log: Logger, onRejected: () => void = () => undefined, name = 'tokenledger-attributor-config',
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
