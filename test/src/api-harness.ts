import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { hashApiKey, KeyRing, type ClickHouseClient } from '@tokenledger/infra';
import { loadApiConfig, startApi, type ApiDeps, type ApiService } from '@tokenledger/api';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { SchemaRegistry } from '@tokenledger/infra';
import { freePort, testLogger } from './harness.js';

export interface TenantKeys {
  tenantId: string;
  ingest: string;
  query: string;
  admin: string;
}

export function tenantKeys(prefix = 't'): TenantKeys {
  const tenantId = `${prefix}-${randomUUID().slice(0, 8)}`;
  return { tenantId, ingest: `tli_${randomUUID()}`, query: `tlq_${randomUUID()}`, admin: `tla_${randomUUID()}` };
}

export function keyRingOf(...tenants: TenantKeys[]): KeyRing {
  return new KeyRing(tenants.flatMap((t) => (['ingest', 'query', 'admin'] as const).map((role) => ({ tenantId: t.tenantId, role, keyHash: hashApiKey(t[role]) }))));
}

/** Starts the api on a free port over the given ClickHouse; `get` calls it with a key. */
export async function startTestApi(env: Record<string, string>, clickhouse: ClickHouseClient, keys: KeyRing, extra: Partial<ApiDeps> = {}) {
  const port = await freePort();
  const api: ApiService = await startApi(loadApiConfig({ ...env, API_PORT: String(port), API_HOST: '127.0.0.1' }), {
    logger: testLogger, clickhouse, keys, registry: new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! }), ...extra,
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, key?: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try { json = JSON.parse(text); } catch { /* CSV or HTML */ }
    return { status: res.status, json: json as Record<string, unknown> & { rows?: Record<string, unknown>[] }, text, headers: res.headers };
  };
  return { api, base, get: (path: string, key?: string) => call('GET', path, key), call };
}

type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/** Each path answers only a query or admin key of the tenant: none or unknown → 401, ingest key → 403. */
export async function expectQueryKeyRequired(client: TestApi, tenant: TenantKeys, paths: string[]): Promise<void> {
  for (const path of paths) {
    expect((await client.get(path)).status, path).toBe(401);
    expect((await client.get(path, 'tlq_nope')).status, path).toBe(401);
    expect((await client.get(path, tenant.ingest)).status, path).toBe(403);
    expect((await client.get(path, tenant.query)).status, path).toBe(200);
    expect((await client.get(path, tenant.admin)).status, path).toBe(200);
  }
}

/** The `path` of each 400 error, for checking that a bad parameter is named. */
export const errorPaths = (json: Record<string, unknown>): string => ((json.errors ?? []) as { path: string }[]).map((e) => e.path).join(' ');

/** An attributor on a free local port with its own consumer group, over the test's ClickHouse. */
export async function startTestAttributor(env: Record<string, string>, clickhouse: ClickHouseClient): Promise<AttributorService> {
  return startAttributor(
    loadAttributorConfig({ ...env, ATTRIBUTOR_PORT: String(await freePort()), ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}` }),
    { logger: testLogger, clickhouse, registry: new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! }) },
  );
}
