/** Bearer-token authentication for the REST API. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CertdeskError } from '../errors.js';
import { actorForToken } from '../ra/accounts.js';
import type { Actor } from '../ra/actor.js';
import type { RaContext } from '../ra/context.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export function authenticate(ctx: RaContext) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    req.actor = token ? await actorForToken(ctx, token) : null;
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) {
    throw new CertdeskError('AUTH_REQUIRED', 'Sign in first: send "Authorization: Bearer TOKEN" with a token from "certdesk token create" or POST /api/v1/auth/token.', { status: 401 });
  }
  return req.actor;
}
