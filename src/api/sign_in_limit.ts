/**
 * Password guessing is slowed at the two sign-in routes: each client address
 * may try one email at most SIGN_IN_ATTEMPTS times per window. The key joins
 * the address and the email, so one user's typos never lock out another user
 * behind the same proxy, and a guesser cannot spread one email's attempts
 * over the window of another.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { CertdeskError } from '../errors.js';

const SIGN_IN_ATTEMPTS = 10;
const SIGN_IN_WINDOW_MS = 60_000;

function signInKey(req: FastifyRequest): string {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  return `${req.ip}|${typeof email === 'string' ? email.trim().toLowerCase() : ''}`;
}

/**
 * The preHandler both sign-in routes run; one limiter, so attempts on either
 * route count together. preHandler because the key holds the email from the body.
 */
export async function signInLimiter(app: FastifyInstance): Promise<preHandlerAsyncHookHandler> {
  await app.register(rateLimit, { global: false });
  return app.rateLimit({
    max: SIGN_IN_ATTEMPTS,
    timeWindow: SIGN_IN_WINDOW_MS,
    keyGenerator: signInKey,
    errorResponseBuilder: (_req, context) =>
      new CertdeskError('SIGN_IN_RATE_LIMITED', `Too many sign-in attempts for this email from your address; wait ${Math.ceil(context.ttl / 1000)} seconds and try again, or ask an admin to reset the password with "certdesk user password".`, {
        status: 429,
      }),
  });
}
