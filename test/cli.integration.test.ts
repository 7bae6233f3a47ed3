import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '@tokenledger/infra';
import { repoRoot } from '@tokenledger/infra/local';
import { topicSpecs } from '@tokenledger/schemas';
import { testEnv, testLogger } from './src/harness.js';

const run = promisify(execFile);
const env = testEnv('cli');
const bin = path.join(repoRoot, 'node_modules/.bin/tokenledger');
const tokenledger = (...args: string[]) => run(bin, args, { env: { ...process.env, ...env } });

beforeAll(async () => {
  const admin = createKafka(env.KAFKA_BROKERS!.split(','), 'cli-test', testLogger).admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
});

describe('tokenledger config (CLI)', () => {
  it('publishes validated changes that show folds back, deletions included', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const set = await tokenledger('config', 'set', 'ticket_prefix', 'PAY', '--tenant', tenant, '--body', '{"project":"payments"}', '--comment', 'payments owns PAY');
    expect(set.stdout).toMatch(/^set ticket_prefix PAY for t-\w+: version \d+/);
    await tokenledger('config', 'set', 'project', 'payments', '--tenant', tenant, '--body', '{"class":"opex"}');
    await tokenledger('config', 'set', 'ticket_prefix', 'OPS', '--tenant', tenant, '--body', '{"project":"ops"}');
    await tokenledger('config', 'delete', 'ticket_prefix', 'OPS', '--tenant', tenant);
    const shown = JSON.parse((await tokenledger('config', 'show', '--tenant', tenant)).stdout);
    expect(shown.ticket_prefixes).toEqual({ PAY: { project: 'payments' } });
    expect(shown.projects).toEqual({ payments: { class: 'opex' } });
    expect(shown.rules_version).toBeGreaterThan(0);
  });

  it('refuses an invalid body, naming the field, and publishes nothing', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const failed = await tokenledger('config', 'set', 'directory_user', 'u1', '--tenant', tenant, '--body', '{"teem":"x"}').catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('teem');
    const shown = JSON.parse((await tokenledger('config', 'show', '--tenant', tenant)).stdout);
    expect(shown.rules_version).toBe(0);
  });
});
