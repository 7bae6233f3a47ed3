import { z } from 'zod';
import { defineRoute, RequestError } from '../route.js';

export interface ReplayRequest {
  from?: number;
  configVersion?: number;
  dryRun?: boolean;
}

/** A replay under way or finished, as the attributor's replay job exposes it. */
export interface ReplayHandle {
  id: string;
  status(): { state: string };
  report(tenantId: string): object | undefined;
}

/** Starts replays (the attributor's `startReplay`, wired in by the process that hosts both). */
export type StartReplay = (request: ReplayRequest) => ReplayHandle;

const body = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional().describe('Recompute events from this instant; earlier facts are kept'),
  config_version: z.number().int().positive().optional().describe('Configuration version to recompute under; default: the latest'),
  dry_run: z.boolean().optional().describe('Build and compare, then discard: the what-if report'),
});

const finished = new Set(['done', 'discarded', 'failed']);

/** Admin endpoints that run and watch replays; one replay at a time. */
export function replayRoutes(startReplay: StartReplay) {
  const jobs = new Map<string, ReplayHandle>();
  const view = (job: ReplayHandle, tenantId: string) => ({ ...job.status(), report: job.report(tenantId) ?? null });
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/admin/replays',
      summary: 'Rebuild the facts from the topics under the current (or a named) configuration; switch when caught up',
      tags: ['admin'],
      roles: ['admin'],
      body,
      async handler({ request, reply, tenantId }) {
        const parsed = body.safeParse(request.body ?? {});
        if (!parsed.success) {
          const errors = parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.message }));
          throw new RequestError(400, `invalid body: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
        }
        if ([...jobs.values()].some((j) => !finished.has(j.status().state))) throw new RequestError(409, 'a replay is already running');
        const job = startReplay({
          from: parsed.data.from === undefined ? undefined : Date.parse(parsed.data.from),
          configVersion: parsed.data.config_version,
          dryRun: parsed.data.dry_run ?? false,
        });
        jobs.set(job.id, job);
        return reply.code(202).send(view(job, tenantId));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/admin/replays/:id',
      summary: "A replay's progress (events done, rate, ETA) and, once compared, the what-if report",
      tags: ['admin'],
      roles: ['admin'],
      params: z.strictObject({ id: z.uuid() }),
      async handler({ params, tenantId }) {
        const job = jobs.get(params.id);
        if (!job) throw new RequestError(404, `no replay ${params.id}`);
        return view(job, tenantId);
      },
    }),
  ];
}
