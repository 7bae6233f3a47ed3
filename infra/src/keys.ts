import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashApiKey, KeyRing, type KeyRole } from './auth.js';

export const devKeysEnv = z.object({
  /** Tenant that the development keys belong to. */
  TOKENLEDGER_DEV_TENANT: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/).default('dev'),
  /** Development keys; random at each `npm start` when unset. */
  TOKENLEDGER_DEV_INGEST_KEY: z.string().min(16).optional(),
  TOKENLEDGER_DEV_QUERY_KEY: z.string().min(16).optional(),
  TOKENLEDGER_DEV_ADMIN_KEY: z.string().min(16).optional(),
});

export type DevKeys = { tenantId: string } & Record<KeyRole, string>;

function randomKey(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/** The development tenant's three keys, from the environment or freshly random. */
export function devKeys(env: z.infer<typeof devKeysEnv>): DevKeys {
  return {
    tenantId: env.TOKENLEDGER_DEV_TENANT,
    ingest: env.TOKENLEDGER_DEV_INGEST_KEY ?? randomKey('tli'),
    query: env.TOKENLEDGER_DEV_QUERY_KEY ?? randomKey('tlq'),
    admin: env.TOKENLEDGER_DEV_ADMIN_KEY ?? randomKey('tla'),
  };
}

export function keyRingFor(...tenants: DevKeys[]): KeyRing {
  return new KeyRing(
    tenants.flatMap((k) =>
      (['ingest', 'query', 'admin'] as const).map((role) => ({ tenantId: k.tenantId, role, keyHash: hashApiKey(k[role]) })),
    ),
  );
}
