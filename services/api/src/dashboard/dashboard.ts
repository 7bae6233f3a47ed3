/**
 * The dashboard: one public HTML page and its static assets. The page holds no data; its script
 * asks the query endpoints with the key the user gives it, so every number it shows passed the
 * same authentication and tenant scoping as any other api client.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

interface Asset {
  url: string;
  contentType: string;
  body: Buffer;
  etag: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// chart.js exports no path to its UMD bundle, so it is found beside the entry point it does export.
const chartDir = path.dirname(createRequire(import.meta.url).resolve('chart.js'));

/** Scripts and styles only from this origin, data only from this api, never framed. */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function asset(url: string, file: string, contentType: string): Asset {
  const body = readFileSync(file);
  return { url, contentType, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Serves `GET /` (the page) and `/dashboard/*` (its script, styles and the chart library). */
export function registerDashboard(app: FastifyInstance): void {
  const assets = [
    asset('/', path.join(here, 'page.html'), 'text/html; charset=utf-8'),
    asset('/dashboard/app.js', path.join(here, 'app.js'), 'text/javascript; charset=utf-8'),
    asset('/dashboard/style.css', path.join(here, 'style.css'), 'text/css; charset=utf-8'),
    asset('/dashboard/chart.umd.min.js', path.join(chartDir, 'chart.umd.min.js'), 'text/javascript; charset=utf-8'),
  ];
  for (const a of assets) {
    app.get(a.url, async (request, reply) => {
      reply
        .header('content-type', a.contentType)
        .header('etag', a.etag)
        // Revalidated on every load, so a deploy is seen at once; unchanged assets cost a 304.
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', contentSecurityPolicy)
        .header('referrer-policy', 'no-referrer');
      if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.send(a.body);
    });
  }
}
