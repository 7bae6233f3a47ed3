import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing, KeyRole } from '@tokenledger/infra';
import { z } from 'zod';
import { resolveRange, type Range } from './params.js';
import { Reader } from './reader.js';

export interface RouteContext<Q, P> {
  reader: Reader;
  query: Q;
  params: P;
  /** Present when the query has `from`/`to`. */
  range: Range;
  tenantId: string;
  reply: FastifyReply;
  request: FastifyRequest;
}

/** One endpoint: its contract (for validation and the OpenAPI document) and its handler. */
export interface Route<Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify path, e.g. `/v1/runs/:run_id`. */
  path: string;
  summary: string;
  tags: string[];
  roles: readonly KeyRole[];
  query?: Q;
  params?: P;
  body?: z.ZodType;
  /** The success answer, for the OpenAPI document. */
  response?: z.ZodType;
  produces?: 'application/json' | 'text/csv';
  handler(context: RouteContext<z.output<Q>, z.output<P>>): Promise<unknown>;
}

export function defineRoute<Q extends z.ZodType = z.ZodObject, P extends z.ZodType = z.ZodObject>(route: Route<Q, P>): Route {
  return route as unknown as Route;
}

export class RequestError extends Error {
  constructor(readonly statusCode: 400 | 401 | 403 | 404 | 409 | 503, message: string, readonly errors?: { path: string; message: string }[]) {
    super(message);
  }
}

function issues(error: z.ZodError, where: 'query' | 'params' | 'body'): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.');
    return { path: path || where, message: issue.code === 'unrecognized_keys' ? 'is not a known parameter' : issue.message };
  });
}

function validate<S extends z.ZodType>(schema: S | undefined, value: unknown, where: 'query' | 'params' | 'body'): z.output<S> {
  if (!schema) return value as z.output<S>;
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const list = issues(parsed.error, where);
  throw new RequestError(400, `invalid ${where}: ${list.map((e) => `${e.path} ${e.message}`).join('; ')}`, list);
}

export interface RouteDeps {
  keys: KeyRing;
  reader(tenantId: string): Reader;
  maxRangeDays: number;
}

/** Registers routes with authentication (tenant from the key), validation and error shapes. */
export function registerRoutes(app: FastifyInstance, routes: Route[], deps: RouteDeps): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const auth = deps.keys.authenticate(request.headers.authorization, route.roles);
        if (!auth.ok) throw new RequestError(auth.status, auth.message);
        const query = validate(route.query, request.query, 'query') as Record<string, unknown>;
        const params = validate(route.params, request.params, 'params');
        const range = resolveRange(query as { from?: string; to?: string }, deps.maxRangeDays);
        if ('error' in range) throw new RequestError(400, `invalid query: ${range.path} ${range.error}`, [{ path: range.path, message: range.error }]);
        return route.handler({ reader: deps.reader(auth.tenantId), query, params, range, tenantId: auth.tenantId, reply, request });
      },
    });
  }
}

/** Errors as JSON: `{error, errors?}`; unexpected ones are logged and answered 500 without internals. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof RequestError) {
      return reply.code(error.statusCode).send({ error: error.message, ...(error.errors ? { errors: error.errors } : {}) });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.message });
    }
    request.log.error({ event: 'request_failed', err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
}
