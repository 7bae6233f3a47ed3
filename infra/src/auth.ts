import { createHash, timingSafeEqual } from 'node:crypto';

export type KeyRole = 'ingest' | 'query' | 'admin';

export interface ApiKeyRecord {
  tenantId: string;
  role: KeyRole;
  /** sha256 of the key, hex. Keys themselves are never stored. */
  keyHash: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export type AuthResult =
  | { ok: true; tenantId: string; role: KeyRole }
  | { ok: false; status: 401 | 403; message: string };

/** Resolves `Authorization: Bearer <key>` against hashed keys; `allowed` lists the roles a route accepts. */
export class KeyRing {
  private readonly byHash = new Map<string, ApiKeyRecord>();

  constructor(records: Iterable<ApiKeyRecord> = []) {
    for (const r of records) this.add(r);
  }

  add(record: ApiKeyRecord): void {
    this.byHash.set(record.keyHash, record);
  }

  remove(keyHash: string): void {
    this.byHash.delete(keyHash);
  }

  authenticate(authorization: string | undefined, allowed: readonly KeyRole[]): AuthResult {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return { ok: false, status: 401, message: 'missing or malformed Authorization: Bearer <key> header' };
    const hash = hashApiKey(match[1]);
    const record = this.byHash.get(hash);
    // Map lookup by hash already avoids comparing secrets; the equal-time check guards the hash itself.
    if (!record || !timingSafeEqual(Buffer.from(record.keyHash, 'hex'), Buffer.from(hash, 'hex'))) {
      return { ok: false, status: 401, message: 'unknown API key' };
    }
    if (!allowed.includes(record.role)) {
      return { ok: false, status: 403, message: `${/^[aeiou]/.test(record.role) ? 'an' : 'a'} ${record.role} key cannot be used here (needs: ${allowed.join(' or ')})` };
    }
    return { ok: true, tenantId: record.tenantId, role: record.role };
  }
}
