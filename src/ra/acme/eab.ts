/**
 * External Account Binding keys (RFC 8555 §7.3.4): an operator or subscriber
 * makes a key id and HMAC key; an ACME client proves it holds them when it
 * creates its account, which binds the account to the key's subscriber (and
 * optionally one instance) so its orders draw on what that subscriber bought.
 * A key may bind several accounts (one per ACME client).
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, flattenedVerify, type JWK } from 'jose';
import { badRequest, forbidden, notFound } from '../../errors.js';
import { newId } from '../../store/ids.js';
import { type Actor, requireRole } from '../actor.js';
import type { RaContext } from '../context.js';
import { acmeError } from './errors.js';

export interface EabKeyView {
  kid: string;
  owner: string;
  instanceId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface CreatedEabKey extends EabKeyView {
  /** base64url, shown once. */
  hmacKey: string;
}

const MAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

function sealedFor(kid: string): string {
  return `acme-eab:${kid}`;
}

/** Subscribers make keys for themselves; admins for anyone (`owner` = the subscriber's email). */
export async function createEabKey(ctx: RaContext, actor: Actor, input: { owner?: string; instanceId?: string }): Promise<CreatedEabKey> {
  requireRole(actor, 'subscriber', 'admin');
  let ownerId = actor.id;
  let ownerEmail = actor.email;
  if (input.owner !== undefined && input.owner.trim().toLowerCase() !== actor.email) {
    if (actor.role !== 'admin') throw forbidden('You can create EAB keys only for yourself.');
    const owner = await ctx.db.selectFrom('users').select(['id', 'email']).where('email', '=', input.owner.trim().toLowerCase()).executeTakeFirst();
    if (!owner) throw badRequest('OWNER_UNKNOWN', `There is no user ${input.owner}; add the user first (certdesk user add).`, 'owner');
    ownerId = owner.id;
    ownerEmail = owner.email;
  }
  if (input.instanceId !== undefined) {
    const instance = await ctx.db.selectFrom('instances').select(['id', 'owner_id', 'product']).where('id', '=', input.instanceId).executeTakeFirst();
    if (!instance || instance.owner_id !== ownerId) throw notFound(`Instance ${input.instanceId} of ${ownerEmail}`);
    if (instance.product !== 'dv') throw badRequest('EAB_INSTANCE_NOT_DV', 'ACME issues DV certificates only; name a DV instance.', 'instanceId');
  }
  const kid = newId('eab');
  const hmacKey = newEabHmacKey();
  const createdAt = ctx.clock.now().toISOString();
  await ctx.db
    .insertInto('acme_eab_keys')
    .values({ id: kid, owner_id: ownerId, instance_id: input.instanceId ?? null, hmac_sealed: ctx.vault.seal(hmacKey, sealedFor(kid)), created_at: createdAt, last_used_at: null })
    .execute();
  return { kid, hmacKey, owner: ownerEmail, instanceId: input.instanceId ?? null, createdAt, lastUsedAt: null };
}

/**
 * A 256-bit EAB HMAC key in base64url. One in 64 such texts starts with "-",
 * which certbot's and lego's option parsers take for an option
 * (`--eab-hmac-key -x…` fails with "expected one argument"), so those are drawn again.
 */
export function newEabHmacKey(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const key = random(32).toString('base64url');
    if (!key.startsWith('-')) return key;
  }
}

/** The CLI's path: the operator makes a key for a subscriber by email. */
export async function createEabKeyFor(ctx: RaContext, email: string, instanceId?: string): Promise<CreatedEabKey> {
  const admin: Actor = { id: 'cli', email: 'cli', role: 'admin' };
  return createEabKey(ctx, admin, { owner: email, ...(instanceId ? { instanceId } : {}) });
}

export async function listEabKeys(ctx: RaContext, actor: Actor): Promise<EabKeyView[]> {
  requireRole(actor, 'subscriber', 'admin');
  let q = ctx.db.selectFrom('acme_eab_keys').innerJoin('users', 'users.id', 'acme_eab_keys.owner_id').selectAll('acme_eab_keys').select('users.email');
  if (actor.role !== 'admin') q = q.where('acme_eab_keys.owner_id', '=', actor.id);
  const rows = await q.orderBy('acme_eab_keys.created_at', 'desc').limit(500).execute();
  return rows.map((r) => ({ kid: r.id, owner: r.email, instanceId: r.instance_id, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
}

export async function eabSecret(ctx: RaContext, kid: string): Promise<Uint8Array | null> {
  const row = await ctx.db.selectFrom('acme_eab_keys').select('hmac_sealed').where('id', '=', kid).executeTakeFirst();
  return row ? Buffer.from(ctx.vault.open(row.hmac_sealed, sealedFor(kid)), 'base64url') : null;
}

/**
 * Checks the externalAccountBinding of a newAccount request: a flattened JWS
 * MACed with the EAB key, whose protected header names the key id and the
 * newAccount URL and whose payload is the account's own public key. Returns
 * the key id. Every failure is `unauthorized`, except a structurally broken
 * object, which is `malformed`.
 */
export async function verifyExternalAccountBinding(
  eab: unknown,
  accountJwk: JWK,
  newAccountUrl: string,
  secretFor: (kid: string) => Promise<Uint8Array | null>,
): Promise<string> {
  const jws = eab as { protected?: unknown; payload?: unknown; signature?: unknown };
  if (typeof jws !== 'object' || jws === null || typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
    throw acmeError('malformed', 'externalAccountBinding must be a flattened JWS object with protected, payload and signature.');
  }
  let header: { alg?: unknown; kid?: unknown; url?: unknown; nonce?: unknown };
  try {
    header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as typeof header;
  } catch {
    throw acmeError('malformed', 'The protected header of externalAccountBinding is not base64url-encoded JSON.');
  }
  if (typeof header.alg !== 'string' || !MAC_ALGORITHMS.includes(header.alg)) {
    throw acmeError('malformed', `externalAccountBinding must be MACed with ${MAC_ALGORITHMS.join(', ')}, not ${String(header.alg)}.`);
  }
  if (header.nonce !== undefined) throw acmeError('malformed', 'The externalAccountBinding JWS must not carry a nonce.');
  if (header.url !== newAccountUrl) throw acmeError('unauthorized', `The externalAccountBinding url must be the newAccount URL ${newAccountUrl}.`);
  if (typeof header.kid !== 'string') throw acmeError('malformed', 'The externalAccountBinding protected header needs the EAB key id in kid.');
  const secret = await secretFor(header.kid);
  if (!secret) throw acmeError('unauthorized', `There is no EAB key ${header.kid}; create one with "certdesk acme eab create" or POST /api/v1/acme/eab.`);
  let payload: Uint8Array;
  try {
    ({ payload } = await flattenedVerify({ protected: jws.protected, payload: jws.payload, signature: jws.signature }, secret, { algorithms: MAC_ALGORITHMS }));
  } catch {
    throw acmeError('unauthorized', `The externalAccountBinding MAC does not verify with EAB key ${header.kid}; check the HMAC key given to the ACME client.`);
  }
  let boundJwk: JWK;
  try {
    boundJwk = JSON.parse(Buffer.from(payload).toString('utf8')) as JWK;
  } catch {
    throw acmeError('malformed', 'The externalAccountBinding payload must be the account public key as JSON.');
  }
  if ((await thumbprintOf(boundJwk)) !== (await thumbprintOf(accountJwk))) {
    throw acmeError('unauthorized', 'The externalAccountBinding payload is not the key this account request is signed with.');
  }
  return header.kid;
}

async function thumbprintOf(jwk: JWK): Promise<string> {
  try {
    return await calculateJwkThumbprint(jwk, 'sha256');
  } catch {
    throw acmeError('malformed', 'The externalAccountBinding payload is not a public JWK.');
  }
}
