/**
 * tokenledger: the operator's command line.
 *   tokenledger config set <kind> <item-id> --tenant <t> (--body '<json>' | --file <path>) [--comment <text>]
 *   tokenledger config delete <kind> <item-id> --tenant <t> [--comment <text>]
 *   tokenledger config show --tenant <t>
 * Reads KAFKA_BROKERS and SCHEMA_REGISTRY_URL from the environment (defaults: the local stack).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import {
  createKafka, createLogger, decodeAvro, kafkaEnv, parseEnv, publishConfigChanges, SchemaRegistry, TopicReader,
} from '@tokenledger/infra';
import {
  applyConfigEvent, configChange, configEventAvro, configEventSchema, configKinds, emptyTenantConfig, topics,
  validateConfigBody, type ConfigKind,
} from '@tokenledger/schemas';

const usage = `usage:
  tokenledger config set <kind> <item-id> --tenant <tenant> (--body '<json>' | --file <path>) [--comment <text>]
  tokenledger config delete <kind> <item-id> --tenant <tenant> [--comment <text>]
  tokenledger config show --tenant <tenant>
kinds: ${configKinds.join(', ')}`;

class UsageError extends Error {}

function kindOf(value: string | undefined): ConfigKind {
  if (!configKinds.includes(value as ConfigKind)) throw new UsageError(`unknown kind "${value ?? ''}"`);
  return value as ConfigKind;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, body: { type: 'string' }, file: { type: 'string' }, comment: { type: 'string' } },
  });
  const [area, action, kindArg, itemId] = positionals;
  if (area !== 'config' || !action) throw new UsageError('expected a command');
  const tenantId = values.tenant;
  if (!tenantId) throw new UsageError('--tenant is required');

  const env = parseEnv(kafkaEnv);
  const log = createLogger('cli', 'error', true);
  const kafka = createKafka(env.KAFKA_BROKERS, 'tokenledger-cli', log);
  const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL });

  if (action === 'show') return show(kafka, registry, tenantId, log);
  if (action !== 'set' && action !== 'delete') throw new UsageError(`unknown action "${action}"`);
  const kind = kindOf(kindArg);
  if (!itemId) throw new UsageError('an item id is required');
  let body: unknown = null;
  if (action === 'set') {
    const text = values.body ?? (values.file ? readFileSync(values.file, 'utf8') : undefined);
    if (text === undefined) throw new UsageError('--body or --file is required');
    body = JSON.parse(text);
    const checked = validateConfigBody(kind, tenantId, itemId, body);
    if (!checked.ok) throw new UsageError(`invalid ${kind}: ${checked.errors.map((e) => `${e.path || '(body)'} ${e.message}`).join('; ')}`);
  }
  const change = configChange({ tenantId, kind, itemId, body, publishedBy: `cli:${userInfo().username}`, comment: values.comment ?? null });
  const [offset] = await publishConfigChanges(kafka, registry, [change]);
  process.stdout.write(`${action === 'set' ? 'set' : 'deleted'} ${kind} ${itemId} for ${tenantId}: version ${Number(offset) + 1}\n`);
}

/** Folds the config topic and prints the tenant's current configuration as JSON. */
async function show(kafka: ReturnType<typeof createKafka>, registry: SchemaRegistry, tenantId: string, log: ReturnType<typeof createLogger>): Promise<void> {
  const config = emptyTenantConfig(tenantId);
  const reader = new TopicReader({
    kafka, topic: topics.config, name: 'tokenledger-cli', log,
    async onMessage(message) {
      if (!message.value) return;
      const event = configEventSchema.safeParse(await decodeAvro(registry, message.value, configEventAvro).catch(() => undefined));
      if (event.success && event.data.tenant_id === tenantId) applyConfigEvent(config, event.data, Number(message.offset));
    },
  });
  await reader.start();
  await reader.stop();
  const asObject = (m: Map<string, unknown>) => Object.fromEntries(m);
  process.stdout.write(`${JSON.stringify({
    tenant: tenantId, rules_version: config.rulesVersion, prices_version: config.pricesVersion,
    price_overrides: asObject(config.priceOverrides), attribution_rules: asObject(config.rules),
    ticket_prefixes: asObject(config.ticketPrefixes), directory_users: asObject(config.users),
    directory_teams: asObject(config.teams), projects: asObject(config.projects),
  }, null, 2)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof UsageError ? `${error.message}\n\n${usage}` : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
