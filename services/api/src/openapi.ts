import { z } from 'zod';
import type { Route } from './route.js';

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** Query and path parameters as OpenAPI parameter objects, from the routes' zod schemas. */
function parameters(route: Route): object[] {
  const list: object[] = [];
  for (const [where, schema] of [['query', route.query], ['path', route.params]] as const) {
    if (!(schema instanceof z.ZodObject)) continue;
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const { description, ...fieldSchema } = jsonSchema(field);
      list.push({ name, in: where, required: where === 'path' || !field.safeParse(undefined).success, description, schema: fieldSchema });
    }
  }
  return list;
}

/** The OpenAPI 3.1 document of the api, generated from the same zod schemas that validate requests. */
export function openApiDocument(routes: Route[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([a-z_]+)/g, '{$1}');
    const produces = route.produces ?? 'application/json';
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      summary: route.summary,
      tags: route.tags,
      security: [{ bearer: [] }],
      parameters: parameters(route),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } } } : {}),
      responses: {
        200: { description: 'OK', content: { [produces]: { schema: route.response ? jsonSchema(route.response) : {} } } },
        400: { description: 'A parameter is invalid; `errors` names it', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        401: { description: 'Missing or unknown key' },
        403: { description: 'The key may not use this endpoint' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tokenledger API',
      version,
      description: 'What each dollar of AI tokens bought. Money is exact decimal text in USD; every answer is scoped to the tenant of the bearer key.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
          required: ['error'],
        },
      },
    },
    paths,
  };
}
