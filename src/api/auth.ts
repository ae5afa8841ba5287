/**
 * Authentication for the REST API: a bearer token (scripts, CLI) or the
 * console's session cookie. Cookie-authenticated requests that change
 * something must carry the CSRF token (double submit); bearer requests need none.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CertdeskError } from '../errors.js';
import { actorForToken } from '../ra/accounts.js';
import type { Actor } from '../ra/actor.js';
import type { RaContext } from '../ra/context.js';
import { actorForSession, checkCsrf } from '../ra/sessions.js';

export const SESSION_COOKIE = 'certdesk_session';
export const CSRF_COOKIE = 'certdesk_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export function authenticate(ctx: RaContext) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (token) {
      req.actor = await actorForToken(ctx, token);
      return;
    }
    const session = req.cookies?.[SESSION_COOKIE];
    req.actor = session ? await actorForSession(ctx, session) : null;
    if (req.actor && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      checkCsrf(req.cookies[CSRF_COOKIE], Array.isArray(sent) ? sent[0] : sent);
    }
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) {
    throw new CertdeskError('AUTH_REQUIRED', 'Sign in first: send "Authorization: Bearer TOKEN" with a token from "certdesk token create" or POST /api/v1/auth/token.', { status: 401 });
  }
  return req.actor;
}
