/**
 * No reply leaves before what it reports is durable. SQLite writes are
 * committed in groups (store/group_commit_sqlite.ts), so a handler may finish
 * before the COMMIT holding its writes, or holding other requests' writes it
 * read; the reply waits for that COMMIT. If the COMMIT fails, the reply
 * becomes a 503 STORE_COMMIT_FAILED instead of claiming what was lost.
 * Routes whose reply reports nothing stored (health, ACME nonces and
 * directory) say so with `config: { reportsNoStoredState: true }` and leave
 * without waiting: half of an ACME client's requests are nonce requests.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CertdeskError } from '../errors.js';
import type { Durability } from '../store/group_commit_sqlite.js';
import { toProblem } from './acme/problems.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The reply says nothing about stored data, so it need not wait for a COMMIT. */
    reportsNoStoredState?: boolean;
  }
}

export function durableReplies(app: FastifyInstance, durability: Durability): void {
  const marks = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (req) => {
    marks.set(req, durability.mark());
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.routeOptions.config.reportsNoStoredState) return payload;
    try {
      await durability.whenDurable(marks.get(req) ?? 0);
      return payload;
    } catch (err) {
      req.log.error({ err }, 'a reply was withheld because its writes could not be committed');
      if (isStream(payload)) payload.destroy();
      return failedReply(req, reply, err);
    }
  });
}

function isStream(payload: unknown): payload is Readable {
  return typeof payload === 'object' && payload !== null && typeof (payload as Readable).pipe === 'function';
}

function failedReply(req: FastifyRequest, reply: FastifyReply, err: unknown): string {
  const error = err instanceof CertdeskError ? err : new CertdeskError('STORE_COMMIT_FAILED', 'certdesk could not save the change to its database; try again.', { status: 503 });
  for (const header of ['location', 'content-disposition', 'content-length', 'etag']) reply.removeHeader(header);
  reply.code(503);
  if (req.url.startsWith('/acme/')) {
    reply.header('content-type', 'application/problem+json');
    return JSON.stringify(toProblem(error).body);
  }
  reply.header('content-type', 'application/json; charset=utf-8');
  return JSON.stringify({ error: { code: error.code, message: error.message } });
}
