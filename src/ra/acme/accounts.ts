/** ACME accounts (RFC 8555 §7.3): creation with EAB, lookup, contact update, key rollover, deactivation. */
import type { JWK } from 'jose';
import { newId } from '../../store/ids.js';
import { prepared } from '../../store/prepared.js';
import type { AcmeAccountTable } from '../../store/schema.js';
import type { RaContext } from '../context.js';
import { eabSecret, verifyExternalAccountBinding } from './eab.js';
import { acmeError } from './errors.js';

const EMAIL = /^[^\s@,;?&]+@[^\s@,;?&]+\.[^\s@,;?&]+$/;
const MAX_CONTACTS = 4;

export interface NewAccountRequest {
  jwk: JWK;
  thumbprint: string;
  payload: Record<string, unknown>;
  newAccountUrl: string;
}

/** RFC 8555 §7.3: only mailto: contacts, each one plain email address. */
export function checkContacts(contact: unknown): string[] {
  if (contact === undefined) return [];
  if (!Array.isArray(contact) || contact.length > MAX_CONTACTS) throw acmeError('malformed', `contact must be a list of at most ${MAX_CONTACTS} mailto: URLs.`);
  return contact.map((c) => {
    if (typeof c !== 'string' || !c.startsWith('mailto:')) throw acmeError('unsupportedContact', `Contact ${JSON.stringify(c)} is not supported; give mailto: URLs, e.g. mailto:admin@example.com.`);
    const address = decodeURIComponent(c.slice('mailto:'.length));
    if (!EMAIL.test(address)) throw acmeError('invalidContact', `Contact ${c} is not one email address.`);
    return `mailto:${address.toLowerCase()}`;
  });
}

export async function findAccountByThumbprint(ctx: RaContext, thumbprint: string): Promise<AcmeAccountTable | undefined> {
  return ctx.db.selectFrom('acme_accounts').selectAll().where('thumbprint', '=', thumbprint).executeTakeFirst();
}

// Read on every signed request.
const accountById = prepared((db, id: string) => db.selectFrom('acme_accounts').selectAll().where('id', '=', id));

/** The account behind a `kid`; only valid accounts may act. */
export async function loadActiveAccount(ctx: RaContext, id: string): Promise<AcmeAccountTable> {
  const [row] = await accountById(ctx.db, id);
  if (!row) throw acmeError('accountDoesNotExist', `There is no ACME account ${id}; create one with newAccount.`);
  if (row.status !== 'valid') throw acmeError('unauthorized', `ACME account ${id} is ${row.status}; create a new account.`);
  return row;
}

/** newAccount: returns the existing account of this key, or makes one bound by EAB to a subscriber. */
export async function newAccount(ctx: RaContext, request: NewAccountRequest): Promise<{ account: AcmeAccountTable; created: boolean }> {
  const { payload } = request;
  const existing = await findAccountByThumbprint(ctx, request.thumbprint);
  if (existing) {
    if (existing.status !== 'valid') throw acmeError('unauthorized', `The ACME account of this key is ${existing.status}; use a new key.`);
    return { account: existing, created: false };
  }
  if (payload.onlyReturnExisting === true) throw acmeError('accountDoesNotExist', 'No ACME account uses this key.');
  if (payload.termsOfServiceAgreed !== true) throw acmeError('malformed', 'Agree to the terms of service (termsOfServiceAgreed: true) to create an account.');
  const contact = checkContacts(payload.contact);
  let ownerId: string | null = null;
  let kid: string | null = null;
  if (payload.externalAccountBinding !== undefined) {
    kid = await verifyExternalAccountBinding(payload.externalAccountBinding, request.jwk, request.newAccountUrl, (k) => eabSecret(ctx, k));
    const key = await ctx.db.selectFrom('acme_eab_keys').select('owner_id').where('id', '=', kid).executeTakeFirstOrThrow();
    ownerId = key.owner_id;
    await ctx.db.updateTable('acme_eab_keys').set({ last_used_at: ctx.clock.now().toISOString() }).where('id', '=', kid).execute();
  } else if (ctx.settings.current().acmeExternalAccountRequired) {
    throw acmeError('externalAccountRequired', 'This CA requires External Account Binding: create an EAB key (certdesk acme eab create, or POST /api/v1/acme/eab) and give its kid and HMAC key to your ACME client.');
  }
  const account: AcmeAccountTable = {
    id: newId('acct'),
    owner_id: ownerId,
    eab_kid: kid,
    jwk: JSON.stringify(publicJwk(request.jwk)),
    thumbprint: request.thumbprint,
    contact: JSON.stringify(contact),
    status: 'valid',
    created_at: ctx.clock.now().toISOString(),
  };
  await ctx.db.insertInto('acme_accounts').values(account).execute();
  return { account, created: true };
}

/** POST to the account URL: a new contact list, or `status: deactivated` (final). */
export async function updateAccount(ctx: RaContext, account: AcmeAccountTable, payload: Record<string, unknown>): Promise<AcmeAccountTable> {
  const changes: Partial<AcmeAccountTable> = {};
  if (payload.contact !== undefined) changes.contact = JSON.stringify(checkContacts(payload.contact));
  if (payload.status !== undefined) {
    if (payload.status !== 'deactivated') throw acmeError('malformed', 'An account status can only be changed to "deactivated".');
    changes.status = 'deactivated';
  }
  if (Object.keys(changes).length === 0) return account;
  await ctx.db.updateTable('acme_accounts').set(changes).where('id', '=', account.id).execute();
  return { ...account, ...changes };
}

/** keyChange (§7.3.5): the signatures were checked by the front end; this checks the keys and swaps them. */
export async function changeAccountKey(ctx: RaContext, account: AcmeAccountTable, change: { oldThumbprint: string; newJwk: JWK; newThumbprint: string }): Promise<AcmeAccountTable> {
  if (change.oldThumbprint !== account.thumbprint) throw acmeError('malformed', 'keyChange: oldKey is not the current key of the account.');
  const holder = await findAccountByThumbprint(ctx, change.newThumbprint);
  // The holder may be another subscriber's account: its id goes only in Location, as §7.3.5 asks, not in the detail.
  if (holder) throw acmeError('malformed', 'keyChange: the new key is already the key of an ACME account (its URL is in Location); roll over to a key that no account uses.', { status: 409, details: { accountId: holder.id } });
  const jwk = JSON.stringify(publicJwk(change.newJwk));
  await ctx.db.updateTable('acme_accounts').set({ jwk, thumbprint: change.newThumbprint }).where('id', '=', account.id).execute();
  return { ...account, jwk, thumbprint: change.newThumbprint };
}

/** Keeps only the public members of a JWK (a client sending a private member must not get it stored). */
function publicJwk(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK;
}
