import { userInfo } from 'node:os';
import { z } from 'zod';
import type { Kafka } from 'kafkajs';
import { publishConfigChanges, type SchemaRegistry } from '@tokenledger/infra';
import { configChange, configKinds, validateConfigBody } from '@tokenledger/schemas';
import { defineRoute, RequestError } from '../route.js';

const params = z.strictObject({
  kind: z.enum(configKinds, { error: `must be one of ${configKinds.join(', ')}` }),
  item_id: z.string().min(1).max(256),
});

const body = z.strictObject({
  /** The item's new body; null removes it. */
  body: z.unknown().describe('The item as JSON (see the kind); null removes it'),
  comment: z.string().max(2_000).optional(),
});

/** Configuration changes are events on the config topic: published here with an admin key. */
export function configRoutes(kafka: Kafka, registry: SchemaRegistry) {
  return [
    defineRoute({
      method: 'PUT',
      path: '/v1/config/:kind/:item_id',
      summary: 'Set (or, with body null, remove) one configuration item: a new version on the config topic',
      tags: ['config'],
      roles: ['admin'],
      params,
      body,
      response: z.object({ kind: z.string(), item_id: z.string(), version: z.number() }),
      async handler({ params: p, request, tenantId }) {
        const parsed = body.safeParse(request.body);
        if (!parsed.success) throw new RequestError(400, 'invalid body: expected {"body": <item or null>, "comment"?: "..."}');
        const item = parsed.data.body ?? null;
        if (item !== null) {
          const checked = validateConfigBody(p.kind, tenantId, p.item_id, item);
          if (!checked.ok) {
            throw new RequestError(400, `invalid ${p.kind}: ${checked.errors.map((e) => `${e.path || '(body)'} ${e.message}`).join('; ')}`, checked.errors);
          }
        }
        const change = configChange({
          tenantId, kind: p.kind, itemId: p.item_id, body: item, publishedBy: `api:admin@${userInfo().username}`, comment: parsed.data.comment ?? null,
        });
        const [offset] = await publishConfigChanges(kafka, registry, [change]);
        return { kind: p.kind, item_id: p.item_id, version: Number(offset) + 1 };
      },
    }),
  ];
}
