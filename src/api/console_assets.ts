/**
 * Serves the built console (dist/web) at `/`, and index.html for the console's
 * own routes (/instances/:id and the like) so links from mail open the page.
 * The API, CA, ACME and other server paths keep their JSON 404s.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PACKAGE_ROOT } from '../package_root.js';

const SERVER_PATHS = /^\/(api|ca|acme|healthz|confirm-email|\.well-known)(\/|$|\?)/;
export const CONSOLE_DIR = path.join(PACKAGE_ROOT, 'dist', 'web');

export async function consoleAssets(app: FastifyInstance, root = CONSOLE_DIR): Promise<void> {
  if (!existsSync(`${root}/index.html`)) {
    app.log.warn(`the console is not built (${root}); run "npm run build" to serve it at /`);
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    index: false,
    setHeaders(res, file) {
      res.header('cache-control', file.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const page = (reply: FastifyReply) => reply.header('cache-control', 'no-cache').sendFile('index.html');
  app.get('/', { schema: { hide: true } }, (_req, reply) => page(reply));
  app.get('/*', { schema: { hide: true } }, (req, reply) => {
    if (SERVER_PATHS.test(req.url)) return reply.callNotFound();
    return page(reply);
  });
}
