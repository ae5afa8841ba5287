/** REST routes the web console needs beyond the workflow: browser sessions, the overview, as-you-type checks, user roles. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { changeRole } from '../../ra/accounts.js';
import { checkDomainsFor, checkPastedCsr } from '../../ra/application_checks.js';
import type { RaContext } from '../../ra/context.js';
import { overview } from '../../ra/overview.js';
import { endSession, SESSION_HOURS, startSession } from '../../ra/sessions.js';
import { actorOf, CSRF_COOKIE, SESSION_COOKIE } from '../auth.js';
import { IdParams, LoginBody, successReply } from '../schemas.js';

const CheckDomainsBody = Type.Object({ domains: Type.Union([Type.Array(Type.String()), Type.String()], { description: 'As in the application: an array, or one name per line' }) });
const CheckCsrBody = Type.Object({ pem: Type.String({ description: 'The PEM CSR' }), names: Type.Array(Type.String(), { description: 'The names the CSR must carry, exactly' }) });
const RoleBody = Type.Object({ role: Type.String({ description: 'subscriber, reviewer or admin' }) });

export function consoleRoutes(app: FastifyInstance, ctx: RaContext, signInGuard: preHandlerAsyncHookHandler): void {
  // Secure whenever the console is reached over HTTPS, directly or (per --public-url) behind a TLS proxy.
  const secure = (req: FastifyRequest) => req.protocol === 'https' || ctx.publicUrl.startsWith('https:');

  app.post<{ Body: { email: string; password: string } }>('/api/v1/auth/session', { preHandler: signInGuard, schema: { tags: ['console'], summary: 'Sign in the console: sets the HTTP-only session cookie and the CSRF cookie', body: LoginBody, security: [] } }, async (req, reply) => {
    const session = await startSession(ctx, req.body);
    const base = { path: '/', sameSite: 'strict' as const, secure: secure(req), maxAge: SESSION_HOURS * 3600 };
    reply.setCookie(SESSION_COOKIE, session.token, { ...base, httpOnly: true });
    // Readable by the console's script, which echoes it in X-CSRF-Token.
    reply.setCookie(CSRF_COOKIE, session.csrf, { ...base, httpOnly: false });
    return { user: { id: session.user.id, email: session.user.email, role: session.user.role }, expiresAt: session.expiresAt.toISOString() };
  });

  app.delete('/api/v1/auth/session', { schema: { tags: ['console'], summary: 'Sign out: ends the session and clears its cookies', response: successReply(204, 'Signed out') } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await endSession(ctx, token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.get('/api/v1/overview', { schema: { tags: ['console'], summary: 'Counts per status, certificates expiring within 30 days and recent activity, in one read' } }, async (req) => overview(ctx, actorOf(req)));

  app.post<{ Params: IdParams; Body: { domains: string | string[] } }>('/api/v1/instances/:id/check-domains', { schema: { tags: ['console'], summary: "Check domains against the instance's rules and quota without saving", params: IdParams, body: CheckDomainsBody } }, async (req) =>
    checkDomainsFor(ctx, actorOf(req), req.params.id, req.body.domains),
  );

  app.post<{ Body: { pem: string; names: string[] } }>('/api/v1/csr/check', { schema: { tags: ['console'], summary: 'Check a pasted CSR (signature, key, names) without saving', body: CheckCsrBody } }, async (req) => {
    actorOf(req);
    return checkPastedCsr(req.body.pem, req.body.names);
  });

  app.put<{ Params: IdParams; Body: { role: string } }>('/api/v1/users/:id/role', { schema: { tags: ['accounts'], summary: "Change a user's role (admin)", params: IdParams, body: RoleBody } }, async (req) => changeRole(ctx, actorOf(req), req.params.id, req.body.role));
}
