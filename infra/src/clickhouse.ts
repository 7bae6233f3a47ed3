import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { z } from 'zod';
import { envBoolean } from './env.js';
import { repoRoot } from './local/paths.js';
import type { Logger } from './logger.js';

export type { ClickHouseClient };

export const clickHouseEnv = z.object({
  /** A ClickHouse server over HTTP, e.g. http://localhost:8123. Unset: embedded chDB. */
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /** Database holding every tokenledger table (created by the migrations). */
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('tokenledger'),
  /** Cluster name for `ON CLUSTER` DDL and Replicated* engines; unset on a single server. */
  CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  /** Apply migrations at start-up ("false" where a deploy job runs them). */
  CLICKHOUSE_MIGRATE: envBoolean.default(true),
});

export interface ClickHouseSettings {
  url?: string | undefined;
  user: string;
  password: string;
  database: string;
  cluster?: string | undefined;
  /** Embedded chDB data directory, used when `url` is unset. */
  chdbPath: string;
}

export function clickHouseSettings(env: z.infer<typeof clickHouseEnv>, dataDir: string): ClickHouseSettings {
  return {
    url: env.CLICKHOUSE_URL,
    user: env.CLICKHOUSE_USER,
    password: env.CLICKHOUSE_PASSWORD,
    database: env.CLICKHOUSE_DATABASE,
    cluster: env.CLICKHOUSE_CLUSTER,
    chdbPath: path.join(dataDir, 'clickhouse'),
  };
}

/** Decimals and 64-bit integers come back as strings: money is never parsed into a float. */
const exactJson = { output_format_json_quote_decimals: 1, output_format_json_quote_64bit_integers: 1 } as const;

/**
 * Opens ClickHouse: HTTP when a URL is configured, else embedded chDB (one data directory per
 * process, so every service of an embedded process shares this one client). Ensures the
 * database exists and makes it the current one.
 */
export async function connectClickHouse(s: ClickHouseSettings): Promise<ClickHouseClient> {
  if (s.url) {
    const bootstrap = createClient({ url: s.url, username: s.user, password: s.password });
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${s.database}${onCluster(s.cluster)}` });
    await bootstrap.close();
    return createClient({
      url: s.url, username: s.user, password: s.password, database: s.database,
      clickhouse_settings: exactJson,
    });
  }
  mkdirSync(s.chdbPath, { recursive: true });
  // chdb declares its Connection against @clickhouse/client-common, which @clickhouse/client now
  // bundles: the same interface from two declaration files, hence the cast.
  const connection = createChdbConnection({ path: s.chdbPath }) as unknown as ClickHouseClientConfigOptions['connection'];
  // No client-wide settings here: chDB's connection would prepend each to every statement as
  // `SET k = v; ...`, and an INSERT whose rows follow such a prefix costs 3-8 µs more per row
  // (usage_facts, JSONCompactEachRow, 1,000-20,000 rows per insert). chDB keeps one session per
  // process, so a SET once holds for every later statement, as USE holds the current database.
  const client = createClient({ connection });
  await client.command({ query: `SET ${Object.entries(exactJson).map(([name, value]) => `${name} = ${value}`).join(', ')}` });
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${s.database}` });
  await client.command({ query: `USE ${s.database}` });
  return client;
}

function onCluster(cluster: string | undefined): string {
  return cluster ? ` ON CLUSTER '${cluster}'` : '';
}

export const migrationsDir = path.join(repoRoot, 'infra/migrations');

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * Reads `NNNN_name.sql` files. Templates: `{{ON_CLUSTER}}` becomes `ON CLUSTER 'x'` (or nothing)
 * and `{{REPLICATED}}` prefixes MergeTree engines with `Replicated` on a cluster.
 */
export function loadMigrations(cluster: string | undefined, dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8')
        .replaceAll('{{ON_CLUSTER}}', onCluster(cluster))
        .replaceAll('{{REPLICATED}}', cluster ? 'Replicated' : '');
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        statements: splitStatements(sql),
      };
    });
}

/** Splits on `;` at line ends, dropping `--` comment lines. Migrations keep one statement per `;`. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Applies migrations not yet recorded in `schema_migrations`. Every statement is idempotent
 * (IF NOT EXISTS), so a crash between a statement and its record is safe to re-run.
 */
export async function migrate(client: ClickHouseClient, s: Pick<ClickHouseSettings, 'cluster'>, log: Logger): Promise<number> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations${onCluster(s.cluster)}
      (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3))
      ENGINE = ${s.cluster ? 'Replicated' : ''}ReplacingMergeTree ORDER BY version`,
  });
  const applied = new Set(
    (await (await client.query({ query: 'SELECT version FROM schema_migrations FINAL', format: 'JSONEachRow' }))
      .json<{ version: number }>()).map((r) => Number(r.version)),
  );
  let count = 0;
  for (const m of loadMigrations(s.cluster)) {
    if (applied.has(m.version)) continue;
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({ table: 'schema_migrations', values: [{ version: m.version, name: m.name }], format: 'JSONEachRow' });
    log.info({ event: 'migration_applied', version: m.version, name: m.name }, `applied migration ${m.name}`);
    count++;
  }
  return count;
}

/**
 * Inserts rows the caller encoded already, as lines of `format` (e.g. JSONCompactEachRow, one
 * `JSON.stringify` per row), in one INSERT statement: rows can be encoded as they are made, so
 * the objects they were made from die young instead of living until the whole batch is sent.
 * `columns` are quoted here.
 */
export async function insertEncoded(client: ClickHouseClient, table: string, columns: readonly string[], format: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const query = `INSERT INTO ${table} (${columns.map((column) => `\`${column}\``).join(', ')}) FORMAT ${format}`;
  const result = await client.exec({ query, values: Readable.from([`${lines.join('\n')}\n`]) });
  for await (const _ of result.stream) {
    // An INSERT answers nothing; the response is read to its end to release the connection.
  }
}

/** ClickHouse DateTime64 text in UTC, e.g. `2026-11-22 15:00:00.000`. */
export function clickHouseTime(epochMs: number): string {
  if (!Number.isSafeInteger(epochMs)) return isoTime(epochMs);
  // Dates are kept per day: a batch's times (occurred_at, received_at) fall on a few days.
  const day = Math.floor(epochMs / MILLIS_PER_DAY);
  let dayText = dateOfDay.get(day);
  if (dayText === undefined) {
    if (dateOfDay.size >= MAX_CACHED_DAYS) dateOfDay.clear();
    dayText = isoTime(day * MILLIS_PER_DAY).slice(0, 10);
    dateOfDay.set(day, dayText);
  }
  let rest = epochMs - day * MILLIS_PER_DAY;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${dayText} ${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${String(millis).padStart(3, '0')}`;
}

const MILLIS_PER_DAY = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const MAX_CACHED_DAYS = 4_096;
const dateOfDay = new Map<number, string>();

function isoTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-11-22T15:00:00.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** Rows for a query with an `{ids:Array(String)}` parameter, run a few thousand ids at a time. */
export async function queryByIds<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>, ids: Iterable<string>, idsPerQuery = 5_000): Promise<T[]> {
  const unique = [...new Set(ids)];
  const rows: T[] = [];
  for (let i = 0; i < unique.length; i += idsPerQuery) {
    const result = await client.query({ query, query_params: { ...params, ids: unique.slice(i, i + idsPerQuery) }, format: 'JSONEachRow' });
    rows.push(...(await result.json<T>()));
  }
  return rows;
}
