/**
 * tokenledger: the operator's command line.
 *   tokenledger config set <kind> <item-id> --tenant <t> (--body '<json>' | --file <path>) [--comment <text>]
 *   tokenledger config delete <kind> <item-id> --tenant <t> [--comment <text>]
 *   tokenledger config show --tenant <t>
 *   tokenledger replay [--from <RFC 3339>] [--config-version <n>] [--dry-run] [--api <url>] [--key <admin key>]
 * Config commands read KAFKA_BROKERS and SCHEMA_REGISTRY_URL (defaults: the local stack). A replay
 * runs inside the pipeline (embedded ClickHouse is open in one process only): the CLI asks the
 * api to start it and shows its progress.
 */
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import {
  AvroDecoder, createKafka, createLogger, kafkaEnv, parseEnv, publishConfigChanges, SchemaRegistry, TopicReader,
} from '@tokenledger/infra';
import {
  applyConfigEvent, configChange, configEventAvro, configEventSchema, configKinds, emptyTenantConfig, topics,
  validateConfigBody, type ConfigKind,
} from '@tokenledger/schemas';

const usage = `usage:
  tokenledger config set <kind> <item-id> --tenant <tenant> (--body '<json>' | --file <path>) [--comment <text>]
  tokenledger config delete <kind> <item-id> --tenant <tenant> [--comment <text>]
  tokenledger config show --tenant <tenant>
  tokenledger replay [--from <RFC 3339>] [--config-version <n>] [--dry-run] [--api <url>] [--key <admin key>]
kinds: ${configKinds.join(', ')}
replay: --api defaults to http://localhost:8080; --key to $TOKENLEDGER_ADMIN_KEY or $TOKENLEDGER_DEV_ADMIN_KEY`;

class UsageError extends Error {}

function kindOf(value: string | undefined): ConfigKind {
  if (!configKinds.includes(value as ConfigKind)) throw new UsageError(`unknown kind "${value ?? ''}"`);
  return value as ConfigKind;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' }, body: { type: 'string' }, file: { type: 'string' }, comment: { type: 'string' },
      from: { type: 'string' }, 'config-version': { type: 'string' }, 'dry-run': { type: 'boolean' }, api: { type: 'string' }, key: { type: 'string' },
    },
  });
  const [area, action, kindArg, itemId] = positionals;
  if (area === 'replay') return replay(values);
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

interface ReplayView {
  id: string;
  state: string;
  events_total: number;
  events_done: number;
  rate_per_second: number;
  eta_seconds: number | null;
  error: string | null;
  report: unknown;
}

/** Starts a replay through the api and follows it with a progress bar until it ends. */
async function replay(values: { from?: string; 'config-version'?: string; 'dry-run'?: boolean; api?: string; key?: string }): Promise<void> {
  const api = (values.api ?? process.env.TOKENLEDGER_API_URL ?? 'http://localhost:8080').replace(/\/$/, '');
  const key = values.key ?? process.env.TOKENLEDGER_ADMIN_KEY ?? process.env.TOKENLEDGER_DEV_ADMIN_KEY;
  if (!key) throw new UsageError('an admin key is required: --key or TOKENLEDGER_ADMIN_KEY');
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const body = {
    ...(values.from ? { from: values.from } : {}),
    ...(values['config-version'] ? { config_version: Number(values['config-version']) } : {}),
    ...(values['dry-run'] ? { dry_run: true } : {}),
  };
  const started = await fetch(`${api}/v1/admin/replays`, { method: 'POST', headers, body: JSON.stringify(body) });
  const first = (await started.json()) as ReplayView;
  if (started.status !== 202) throw new Error(`the api refused the replay (${started.status}): ${first.error ?? JSON.stringify(first)}`);

  const bar = new cliProgress.SingleBar(
    { format: 'replay {bar} {percentage}% | {value}/{total} events | {rate}/s | ETA {eta_s} | {state}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { rate: 0, eta_s: '?', state: first.state });
  let view: ReplayView = first;
  while (!['done', 'discarded', 'failed'].includes(view.state)) {
    await new Promise((r) => setTimeout(r, 500));
    view = (await (await fetch(`${api}/v1/admin/replays/${first.id}`, { headers })).json()) as ReplayView;
    bar.setTotal(Math.max(1, view.events_total));
    bar.update(view.events_done, { rate: view.rate_per_second, eta_s: view.eta_seconds === null ? '?' : `${view.eta_seconds}s`, state: view.state });
  }
  bar.stop();
  if (view.state === 'failed') throw new Error(`replay failed: ${view.error}`);
  process.stdout.write(`replay ${view.id}: ${view.state}\n${JSON.stringify(view.report, null, 2)}\n`);
}

/** Folds the config topic and prints the tenant's current configuration as JSON. */
async function show(kafka: ReturnType<typeof createKafka>, registry: SchemaRegistry, tenantId: string, log: ReturnType<typeof createLogger>): Promise<void> {
  const config = emptyTenantConfig(tenantId);
  const decoder = new AvroDecoder(registry, configEventAvro);
  const reader = new TopicReader({
    kafka, topic: topics.config, name: 'tokenledger-cli', log,
    async onMessage(message) {
      if (!message.value) return;
      const event = configEventSchema.safeParse(await decoder.decode(message.value).catch(() => undefined));
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
    governance_version: config.governanceVersion, budgets: asObject(config.budgets), stop_loss_rules: asObject(config.stopLossRules),
    // A webhook's secret is not printed: show is for reading configuration, not for leaking keys.
    webhooks: Object.fromEntries([...config.webhooks].map(([id, w]) => [id, { ...w, secret: '(set)' }])),
  }, null, 2)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof UsageError ? `${error.message}\n\n${usage}` : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
