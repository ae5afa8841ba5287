/** Saved contact and organization profiles, reused across applications. */
import { badRequest, notFound } from '../errors.js';
import { newId } from '../store/ids.js';
import type { Actor } from './actor.js';
import { checkContact, checkOrganization, type Contact, type Organization } from './applicant.js';
import type { RaContext } from './context.js';

export type ProfileKind = 'contact' | 'organization';

export interface ProfileView {
  id: string;
  kind: ProfileKind;
  name: string;
  data: Contact | Organization;
  createdAt: string;
}

function checkKind(kind: unknown): ProfileKind {
  if (kind !== 'contact' && kind !== 'organization') throw badRequest('PROFILE_KIND_INVALID', 'kind must be "contact" or "organization".', 'kind');
  return kind;
}

export async function saveProfile(ctx: RaContext, actor: Actor, input: { kind: unknown; name: unknown; data: unknown }): Promise<ProfileView> {
  const kind = checkKind(input.kind);
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 100) {
    throw badRequest('PROFILE_NAME_INVALID', 'Give the profile a name of 1 to 100 characters.', 'name');
  }
  const data = kind === 'contact' ? checkContact(input.data, 'data') : checkOrganization(input.data, 'data');
  const row = { id: newId('prof'), owner_id: actor.id, kind, name: input.name.trim(), data: JSON.stringify(data), created_at: ctx.clock.now().toISOString() };
  await ctx.db.insertInto('profiles').values(row).execute();
  return { id: row.id, kind, name: row.name, data, createdAt: row.created_at };
}

export async function listProfiles(ctx: RaContext, actor: Actor, kind?: unknown): Promise<ProfileView[]> {
  let q = ctx.db.selectFrom('profiles').selectAll().where('owner_id', '=', actor.id);
  if (kind !== undefined) q = q.where('kind', '=', checkKind(kind));
  const rows = await q.orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, kind: r.kind, name: r.name, data: JSON.parse(r.data) as Contact | Organization, createdAt: r.created_at }));
}

/** A profile's data, only when it belongs to the actor. */
export async function loadProfile(ctx: RaContext, actor: Actor, id: string, kind: ProfileKind): Promise<unknown> {
  const row = await ctx.db.selectFrom('profiles').select('data').where('id', '=', id).where('owner_id', '=', actor.id).where('kind', '=', kind).executeTakeFirst();
  if (!row) throw notFound(`The ${kind} profile ${id}`);
  return JSON.parse(row.data);
}

export async function deleteProfile(ctx: RaContext, actor: Actor, id: string): Promise<void> {
  const result = await ctx.db.deleteFrom('profiles').where('id', '=', id).where('owner_id', '=', actor.id).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw notFound(`Profile ${id}`);
}
