import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from './env.js';
import { platformEnv } from './platform.js';

describe('configuration from the environment', () => {
  it('applies defaults', () => {
    const config = parseEnv(platformEnv, {});
    expect(config.KAFKA_BROKERS).toEqual(['localhost:9092']);
    expect(config.CLICKHOUSE_MIGRATE).toBe(true);
  });

  it('stops start-up with a message naming each bad variable', () => {
    const parse = () => parseEnv(platformEnv, { CLICKHOUSE_URL: 'not a url', CLICKHOUSE_MIGRATE: 'yes', KAFKA_BROKERS: ' , ' });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/CLICKHOUSE_URL/);
    expect(parse).toThrow(/CLICKHOUSE_MIGRATE/);
    expect(parse).toThrow(/KAFKA_BROKERS/);
  });
});
