/**
 * Browser sessions for the console. A session is a row in api_tokens with the
 * label "session" and its own token prefix, so a session cookie is never
 * accepted as a bearer token, and it lapses after SESSION_HOURS.
 */
import { CertdeskError } from '../errors.js';
import { newId } from '../store/ids.js';
import type { Actor } from './actor.js';
import { login } from './accounts.js';
import type { RaContext } from './context.js';
import { randomSecret, tokenHash } from './passwords.js';

export const SESSION_HOURS = 12;
const SESSION_PREFIX = 'cds_';
const SESSION_LABEL = 'session';

export interface Session {
  token: string;
  /** The double-submit CSRF token the console echoes in X-CSRF-Token. */
  csrf: string;
  user: Actor;
  expiresAt: Date;
}

export async function startSession(ctx: RaContext, input: { email?: unknown; password?: unknown }): Promise<Session> {
  // login() checks the password; its API token is not wanted here, so it is deleted again.
  const { token: apiToken, user } = await login(ctx, input);
  await ctx.db.deleteFrom('api_tokens').where('token_hash', '=', tokenHash(apiToken)).execute();
  const token = SESSION_PREFIX + randomSecret(32);
  const now = ctx.clock.now();
  await ctx.db.insertInto('api_tokens').values({ id: newId('tok'), user_id: user.id, token_hash: tokenHash(token), label: SESSION_LABEL, created_at: now.toISOString() }).execute();
  return { token, csrf: randomSecret(24), user: { id: user.id, email: user.email, role: user.role }, expiresAt: new Date(now.getTime() + SESSION_HOURS * 3600_000) };
}

export async function actorForSession(ctx: RaContext, token: string): Promise<Actor | null> {
  if (!token.startsWith(SESSION_PREFIX)) return null;
  const since = new Date(ctx.clock.now().getTime() - SESSION_HOURS * 3600_000).toISOString();
  const row = await ctx.db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['users.id', 'users.email', 'users.role'])
    .where('api_tokens.token_hash', '=', tokenHash(token))
    .where('api_tokens.label', '=', SESSION_LABEL)
    .where('api_tokens.created_at', '>', since)
    .executeTakeFirst();
  return row ? { id: row.id, email: row.email, role: row.role } : null;
}

export async function endSession(ctx: RaContext, token: string): Promise<void> {
  if (!token.startsWith(SESSION_PREFIX)) return;
  await ctx.db.deleteFrom('api_tokens').where('token_hash', '=', tokenHash(token)).where('label', '=', SESSION_LABEL).execute();
}

/** The double-submit check: the header must repeat the CSRF cookie, which another site can neither read nor set. */
export function checkCsrf(cookieValue: string | undefined, headerValue: string | undefined): void {
  if (!cookieValue || !headerValue || cookieValue.length !== headerValue.length || cookieValue !== headerValue) {
    throw new CertdeskError('CSRF_TOKEN_INVALID', 'This request lacks the X-CSRF-Token header that matches the certdesk_csrf cookie; reload the console and try again.', { status: 403 });
  }
}
