/** Users, roles and API tokens. */
import { badRequest, CertdeskError, conflict } from '../errors.js';
import { newId } from '../store/ids.js';
import { prepared } from '../store/prepared.js';
import type { Role } from '../store/schema.js';
import { type Actor, requireRole } from './actor.js';
import type { RaContext } from './context.js';
import { hashPassword, randomSecret, tokenHash, verifyPassword } from './passwords.js';

export const ROLES: readonly Role[] = ['subscriber', 'reviewer', 'admin'];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TOKEN_PREFIX = 'cdk_';

export interface UserView {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
}

export async function addUser(ctx: Pick<RaContext, 'db' | 'clock'>, input: { email: unknown; role: unknown; password?: unknown }): Promise<UserView> {
  if (typeof input.email !== 'string' || !EMAIL.test(input.email.trim())) throw badRequest('EMAIL_INVALID', 'email must be an email address such as alice@example.com.', 'email');
  if (!ROLES.includes(input.role as Role)) throw badRequest('ROLE_INVALID', `role must be one of ${ROLES.join(', ')}.`, 'role');
  if (input.password !== undefined && (typeof input.password !== 'string' || input.password.length < 10)) {
    throw badRequest('PASSWORD_TOO_SHORT', 'The password must have at least 10 characters.', 'password');
  }
  const email = input.email.trim().toLowerCase();
  const existing = await ctx.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (existing) throw conflict('USER_EXISTS', `A user with the email ${email} already exists.`);
  const row = {
    id: newId('usr'),
    email,
    role: input.role as Role,
    password_hash: typeof input.password === 'string' ? hashPassword(input.password) : null,
    created_at: ctx.clock.now().toISOString(),
  };
  await ctx.db.insertInto('users').values(row).execute();
  return { id: row.id, email, role: row.role, createdAt: row.created_at };
}

export async function listUsers(ctx: RaContext, actor: Actor): Promise<UserView[]> {
  requireRole(actor, 'admin');
  const rows = await ctx.db.selectFrom('users').select(['id', 'email', 'role', 'created_at']).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, email: r.email, role: r.role, createdAt: r.created_at }));
}

/** Creates an API token for a user; the token itself is shown once and stored only as a hash. */
export async function createToken(ctx: Pick<RaContext, 'db' | 'clock'>, email: string, label = 'cli'): Promise<string> {
  const user = await ctx.db.selectFrom('users').select('id').where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  if (!user) throw badRequest('USER_UNKNOWN', `There is no user ${email}; add it first with "certdesk user add".`, 'email');
  const token = TOKEN_PREFIX + randomSecret(32);
  await ctx.db.insertInto('api_tokens').values({ id: newId('tok'), user_id: user.id, token_hash: tokenHash(token), label, created_at: ctx.clock.now().toISOString() }).execute();
  return token;
}

export async function login(ctx: RaContext, input: { email?: unknown; password?: unknown }): Promise<{ token: string; user: UserView }> {
  const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
  const user = await ctx.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  if (!user || !user.password_hash || typeof input.password !== 'string' || !verifyPassword(input.password, user.password_hash)) {
    throw new CertdeskError('LOGIN_FAILED', 'The email or password is wrong.', { status: 401 });
  }
  const token = await createToken(ctx, email, 'login');
  return { token, user: { id: user.id, email: user.email, role: user.role, createdAt: user.created_at } };
}

export async function actorForToken(ctx: Pick<RaContext, 'db' | 'tokenActors'>, token: string): Promise<Actor | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const hash = tokenHash(token);
  return ctx.tokenActors.actorFor(hash, async () => {
    const [row] = await selectTokenUser(ctx.db, hash);
    return row ? { id: row.id, email: row.email, role: row.role } : null;
  });
}

const selectTokenUser = prepared((db, hash: string) =>
  db.selectFrom('api_tokens').innerJoin('users', 'users.id', 'api_tokens.user_id').select(['users.id', 'users.email', 'users.role']).where('api_tokens.token_hash', '=', hash),
);

/** Gives a user a new random password (the CLI's recovery path) and returns it. */
export async function setPassword(ctx: Pick<RaContext, 'db'>, email: string): Promise<string> {
  const password = randomSecret(12);
  const result = await ctx.db.updateTable('users').set({ password_hash: hashPassword(password) }).where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw badRequest('USER_UNKNOWN', `There is no user ${email}.`, 'email');
  return password;
}

/** Changes a user's role (admin). An admin cannot change their own role, so at least one admin always remains. */
export async function changeRole(ctx: RaContext, actor: Actor, userId: string, role: unknown): Promise<UserView> {
  requireRole(actor, 'admin');
  if (!ROLES.includes(role as Role)) throw badRequest('ROLE_INVALID', `role must be one of ${ROLES.join(', ')}.`, 'role');
  if (userId === actor.id) throw conflict('OWN_ROLE', 'You cannot change your own role; ask another admin.');
  const user = await ctx.db.selectFrom('users').select(['id', 'email', 'created_at']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw new CertdeskError('NOT_FOUND', `User ${userId} was not found.`, { status: 404 });
  await ctx.db.updateTable('users').set({ role: role as Role }).where('id', '=', userId).execute();
  ctx.tokenActors.forgetAll();
  return { id: user.id, email: user.email, role: role as Role, createdAt: user.created_at };
}
