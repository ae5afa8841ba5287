/** REST routes for sign-in, users, profiles, settings and the mail outbox. */
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { addUser, listUsers, login } from '../../ra/accounts.js';
import { requireRole } from '../../ra/actor.js';
import type { RaContext } from '../../ra/context.js';
import { confirmEmail } from '../../ra/dcv.js';
import { tokenHash } from '../../ra/passwords.js';
import { deleteProfile, listProfiles, saveProfile } from '../../ra/profiles.js';
import { actorOf } from '../auth.js';
import { ConfirmBody, IdParams, LoginBody, ProfileBody, ProfileQuery, SettingsBody, successReply, UserBody } from '../schemas.js';

export function accountRoutes(app: FastifyInstance, ctx: RaContext, signInGuard: preHandlerAsyncHookHandler): void {
  app.post<{ Body: { email: string; password: string } }>('/api/v1/auth/token', { preHandler: signInGuard, schema: { tags: ['accounts'], summary: 'Exchange email and password for an API token', body: LoginBody, security: [] } }, async (req) => login(ctx, req.body));

  app.get('/api/v1/me', { schema: { tags: ['accounts'], summary: 'The signed-in user' } }, async (req) => {
    const actor = actorOf(req);
    return { id: actor.id, email: actor.email, role: actor.role };
  });

  app.get('/api/v1/users', { schema: { tags: ['accounts'], summary: 'Users and roles (admin)' } }, async (req) => ({ items: await listUsers(ctx, actorOf(req)) }));
  app.post<{ Body: { email: string; role: string; password?: string } }>('/api/v1/users', { schema: { tags: ['accounts'], summary: 'Add a user (admin)', body: UserBody, response: successReply(201, 'The new user; with a generated password when none was given') } }, async (req, reply) => {
    requireRole(actorOf(req), 'admin');
    return reply.status(201).send(await addUser(ctx, req.body));
  });

  app.get<{ Querystring: { kind?: string } }>('/api/v1/profiles', { schema: { tags: ['profiles'], summary: 'Saved contact and organization profiles', querystring: ProfileQuery } }, async (req) => ({
    items: await listProfiles(ctx, actorOf(req), req.query.kind),
  }));
  app.post<{ Body: { kind: string; name: string; data: object } }>('/api/v1/profiles', { schema: { tags: ['profiles'], summary: 'Save a contact or organization profile', body: ProfileBody, response: successReply(201, 'The saved profile') } }, async (req, reply) =>
    reply.status(201).send(await saveProfile(ctx, actorOf(req), req.body)),
  );
  app.delete<{ Params: IdParams }>('/api/v1/profiles/:id', { schema: { tags: ['profiles'], summary: 'Delete a profile', params: IdParams, response: successReply(204, 'Deleted') } }, async (req, reply) => {
    await deleteProfile(ctx, actorOf(req), req.params.id);
    return reply.status(204).send();
  });

  app.get('/api/v1/settings', { schema: { tags: ['admin'], summary: 'Operator settings (admin)' } }, async (req) => {
    requireRole(actorOf(req), 'admin');
    return { ...ctx.settings.view(), overriddenByFlags: Object.keys(ctx.settings.overrides) };
  });
  app.put<{ Body: Record<string, unknown> }>('/api/v1/settings', { schema: { tags: ['admin'], summary: 'Change operator settings (admin)', body: SettingsBody } }, async (req) => {
    requireRole(actorOf(req), 'admin');
    return ctx.settings.update(req.body);
  });

  app.get('/api/v1/outbox', { schema: { tags: ['admin'], summary: 'Mail kept because no SMTP server is configured (admin)' } }, async (req) => {
    requireRole(actorOf(req), 'admin');
    const rows = await ctx.db.selectFrom('outbox').selectAll().orderBy('created_at', 'desc').limit(200).execute();
    return { items: rows.map((r) => ({ id: r.id, from: r.sender, to: r.recipient, subject: r.subject, text: r.text, createdAt: r.created_at })) };
  });

  app.post<{ Body: { token: string } }>('/api/v1/confirmations', { schema: { tags: ['accounts'], summary: "Confirm the applicant's email with the token from the CA's mail", body: ConfirmBody, security: [] } }, async (req) =>
    confirmEmail(ctx, tokenHash(req.body.token)),
  );
  app.get<{ Querystring: { token?: string } }>('/confirm-email', { schema: { hide: true } }, async (req, reply) => {
    const token = String(req.query.token ?? '').replace(/[^A-Za-z0-9_-]/g, '');
    // A GET only shows the button: mail scanners that follow links must not confirm on the applicant's behalf.
    return reply.header('content-type', 'text/html; charset=utf-8').send(`<!doctype html><meta charset="utf-8"><title>Confirm your certificate application</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>Confirm your certificate application</h1>
<p>Click the button to confirm that you applied for this certificate.</p>
<button id="c">Confirm</button><p id="r"></p>
<script>document.getElementById('c').onclick=async()=>{const r=await fetch('/api/v1/confirmations',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({token:${JSON.stringify(token)}})});const b=await r.json();document.getElementById('r').textContent=r.ok?'Confirmed. The CA will now review your application.':b.error.message;};</script>`);
  });
}
