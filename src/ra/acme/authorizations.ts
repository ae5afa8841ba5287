/**
 * ACME authorizations and their challenges: created per identifier, reused
 * for the same account and identifier while valid, and validated through the
 * validation authority (http-01, dns-01, tls-alpn-01).
 */
import { sql } from 'kysely';
import { randomPool } from '../../random_pool.js';
import { newId } from '../../store/ids.js';
import { insertRows, prepared, updateWhere } from '../../store/prepared.js';
import type { AcmeAccountTable, AcmeAuthorizationTable, AcmeChallengeTable, AcmeChallengeType, AcmeOrderStatus } from '../../store/schema.js';
import { checkAcmeDns01 } from '../../va/acme_dns01.js';
import { checkAcmeHttp01 } from '../../va/acme_http01.js';
import type { CheckFailureReason, CheckResult } from '../../va/check_result.js';
import { checkTlsAlpn01 } from '../../va/tls_alpn01.js';
import type { RaContext } from '../context.js';
import { recordEvent } from '../timeline.js';
import { acmeError, storedProblem, type AcmeErrorType } from './errors.js';
import { failOrders } from './order_failure.js';

/**
 * How long a validated authorization is reused for new orders of the same
 * account and name: 30 days, as Let's Encrypt does, well inside the CA/B
 * Forum's limit on reusing domain validation data.
 */
export const AUTHZ_REUSE_DAYS = 30;
/** How long a pending authorization waits for its challenge: as long as an order lives. */
export const PENDING_AUTHZ_DAYS = 7;
const DAY_MS = 86400_000;

export interface AcmeIdentifier {
  /** DNS name without `*.`. */
  name: string;
  wildcard: boolean;
}

/** When an authorization stops counting: pending ones after 7 days, valid ones 30 days after validation. */
export function authorizationExpiry(status: 'pending' | 'valid', since: Date): Date {
  return new Date(since.getTime() + (status === 'valid' ? AUTHZ_REUSE_DAYS : PENDING_AUTHZ_DAYS) * DAY_MS);
}

/** Whether an existing authorization can serve a new order now. */
export function isReusable(authz: Pick<AcmeAuthorizationTable, 'status' | 'expires'>, now: Date): boolean {
  return authz.status === 'valid' && new Date(authz.expires) > now;
}

/** Wildcards can be proven only in DNS (RFC 8555 §7.1.3). */
export function challengeTypesFor(identifier: AcmeIdentifier): AcmeChallengeType[] {
  return identifier.wildcard ? ['dns-01'] : ['http-01', 'dns-01', 'tls-alpn-01'];
}

export function keyAuthorization(token: string, accountThumbprint: string): string {
  return `${token}.${accountThumbprint}`;
}

/**
 * A valid authorization of this account for the identifier, proven by a type
 * in `allowedTypes` (those CAA allows, RFC 8657), or a new pending one whose
 * fresh challenges are of those types only.
 */
export async function authorizationFor(ctx: RaContext, accountId: string, identifier: AcmeIdentifier, allowedTypes: readonly AcmeChallengeType[]): Promise<AcmeAuthorizationTable> {
  const now = ctx.clock.now();
  const [existing] = await reusableAuthorization(ctx.db, accountId, identifier.name, identifier.wildcard ? 1 : 0, now.toISOString());
  if (existing && isReusable(existing, now) && allowedTypes.includes(existing.proven_by)) {
    const { proven_by: _, ...authz } = existing;
    return authz;
  }
  const authz: AcmeAuthorizationTable = {
    id: newId('authz'),
    account_id: accountId,
    identifier: identifier.name,
    wildcard: identifier.wildcard ? 1 : 0,
    status: 'pending',
    expires: authorizationExpiry('pending', now).toISOString(),
    created_at: now.toISOString(),
  };
  await ctx.db.executeQuery(insertRows(ctx.db, 'acme_authorizations', authz));
  await ctx.db.executeQuery(
    insertRows(
      ctx.db,
      'acme_challenges',
      allowedTypes.map((type) => ({ id: newId('chall'), authorization_id: authz.id, type, token: randomPool.take(32).toString('base64url'), status: 'pending' as const, validated_at: null, error: null })),
    ),
  );
  return authz;
}

// Read by every authorization and challenge request, polls included.
const authorizationById = prepared((db, id: string) => db.selectFrom('acme_authorizations').selectAll().where('id', '=', id));
const challengesOf = prepared((db, authorizationId: string) => db.selectFrom('acme_challenges').selectAll().where('authorization_id', '=', authorizationId).orderBy('type'));
const authorizationIdOfChallenge = prepared((db, challengeId: string) => db.selectFrom('acme_challenges').select('authorization_id').where('id', '=', challengeId));
/** The newest valid authorization, with the type of the challenge that proved it. */
const reusableAuthorization = prepared((db, accountId: string, identifier: string, wildcard: number, validUntilAfter: string) =>
  db
    .selectFrom('acme_authorizations')
    .innerJoin('acme_challenges', 'acme_challenges.authorization_id', 'acme_authorizations.id')
    .selectAll('acme_authorizations')
    .select('acme_challenges.type as proven_by')
    .where('acme_authorizations.account_id', '=', accountId)
    .where('acme_authorizations.identifier', '=', identifier)
    .where('acme_authorizations.wildcard', '=', wildcard)
    .where('acme_authorizations.status', '=', sql.lit('valid'))
    .where('acme_challenges.status', '=', sql.lit('valid'))
    .where('acme_authorizations.expires', '>', validUntilAfter)
    .orderBy('acme_authorizations.expires', 'desc')
    .limit(sql.lit(1)),
);
/** Orders of the account still open (literal statuses, so SQLite can use the partial index acme_orders_open) that list the authorization. */
const openOrdersUsing = prepared((db, accountId: string, quotedAuthzPattern: string) =>
  db
    .selectFrom('acme_orders')
    .select(['id', 'instance_id'])
    .where('account_id', '=', accountId)
    .where('status', 'in', [sql.lit<AcmeOrderStatus>('pending'), sql.lit<AcmeOrderStatus>('ready')])
    .where('authorization_ids', 'like', quotedAuthzPattern),
);

/** The authorization as the account sees it, with pending ones past their expiry shown as expired. */
export async function loadAuthorization(ctx: RaContext, account: AcmeAccountTable, id: string): Promise<{ authz: AcmeAuthorizationTable; challenges: AcmeChallengeTable[] }> {
  const [authz] = await authorizationById(ctx.db, id);
  if (!authz || authz.account_id !== account.id) throw acmeError('malformed', `There is no authorization ${id} of this account.`, { status: 404 });
  const challenges = await challengesOf(ctx.db, id);
  const expired = (authz.status === 'pending' || authz.status === 'valid') && new Date(authz.expires) <= ctx.clock.now();
  return { authz: expired ? { ...authz, status: 'expired' } : authz, challenges };
}

/** Deactivation by the client (§7.5.2), the only change a client may post; the open orders that need the authorization fail with it. */
export async function deactivateAuthorization(ctx: RaContext, account: AcmeAccountTable, id: string, payload: Record<string, unknown>): Promise<void> {
  if (payload.status !== 'deactivated') {
    throw acmeError('malformed', 'The only change an authorization accepts is {"status":"deactivated"}; to read it, POST an empty payload (POST-as-GET).');
  }
  const { authz } = await loadAuthorization(ctx, account, id);
  const domain = displayName(authz);
  const problem = storedProblem('unauthorized', `The authorization for ${domain} was deactivated by the client; place a new order.`);
  // The same lock as a challenge response, which would otherwise write the authorization's status over this one.
  await ctx.locks.run(id, () =>
    ctx.db.transaction().execute(async (trx) => {
      const deactivated = await trx.updateTable('acme_authorizations').set({ status: 'deactivated' }).where('id', '=', id).where('status', 'in', ['pending', 'valid']).executeTakeFirst();
      if (Number(deactivated.numUpdatedRows) === 0) return;
      await failOrders(trx, await openOrdersUsing(trx, account.id, quotedPattern(id)), problem, `lost its authorization for ${domain}, which the client deactivated`, ctx.clock.now());
    }),
  );
}

function displayName(authz: Pick<AcmeAuthorizationTable, 'identifier' | 'wildcard'>): string {
  return authz.wildcard ? `*.${authz.identifier}` : authz.identifier;
}

/** The LIKE pattern that finds an authorization id in an order's authorization_ids (a JSON list). */
function quotedPattern(authzId: string): string {
  return `%"${authzId}"%`;
}

async function authorizationIdOf(ctx: RaContext, challengeId: string): Promise<string> {
  const [found] = await authorizationIdOfChallenge(ctx.db, challengeId);
  if (!found) throw acmeError('malformed', `There is no challenge ${challengeId}.`, { status: 404 });
  return found.authorization_id;
}

async function challengeOf(ctx: RaContext, account: AcmeAccountTable, authorizationId: string, challengeId: string): Promise<{ challenge: AcmeChallengeTable; authz: AcmeAuthorizationTable }> {
  const { authz, challenges } = await loadAuthorization(ctx, account, authorizationId);
  return { authz, challenge: challenges.find((c) => c.id === challengeId) as AcmeChallengeTable };
}

export async function loadChallenge(ctx: RaContext, account: AcmeAccountTable, id: string): Promise<{ challenge: AcmeChallengeTable; authz: AcmeAuthorizationTable }> {
  return challengeOf(ctx, account, await authorizationIdOf(ctx, id), id);
}

const PROBLEM_FOR: Partial<Record<CheckFailureReason, AcmeErrorType>> = {
  NXDOMAIN: 'dns',
  DNS_ERROR: 'dns',
  NO_ADDRESS: 'dns',
  CONNECTION_FAILED: 'connection',
  TIMEOUT: 'connection',
  TLS_HANDSHAKE: 'tls',
};

export function problemForCheck(result: CheckResult): AcmeErrorType {
  return (result.reason && PROBLEM_FOR[result.reason]) ?? 'incorrectResponse';
}

/**
 * The client says it is ready (§7.5.1): validates the challenge now and
 * settles the authorization. Returns the challenge as it stands afterwards.
 */
export async function respondToChallenge(ctx: RaContext, account: AcmeAccountTable, challengeId: string): Promise<{ challenge: AcmeChallengeTable; authz: AcmeAuthorizationTable }> {
  const authorizationId = await authorizationIdOf(ctx, challengeId);
  return ctx.locks.run(authorizationId, async () => {
    const { authz, challenge } = await challengeOf(ctx, account, authorizationId, challengeId);
    if (authz.status !== 'pending' || challenge.status !== 'pending') return { challenge, authz };
    const domain = displayName(authz);
    const keyAuth = keyAuthorization(challenge.token, account.thumbprint);
    const result = await runCheck(ctx, challenge.type, authz.identifier, challenge.token, keyAuth);
    const now = ctx.clock.now();
    const problem = result.ok ? null : storedProblem(problemForCheck(result), result.message);
    const valid = problem === null;
    const error = problem ? JSON.stringify(problem) : null;
    const settled: AcmeChallengeTable = { ...challenge, status: valid ? 'valid' : 'invalid', validated_at: valid ? now.toISOString() : null, error };
    const authzAfter: AcmeAuthorizationTable = valid ? { ...authz, status: 'valid', expires: authorizationExpiry('valid', now).toISOString() } : { ...authz, status: 'invalid' };
    await ctx.db.transaction().execute(async (trx) => {
      await trx.executeQuery(updateWhere(trx, 'acme_challenges', { status: settled.status, validated_at: settled.validated_at, error }, { id: challenge.id }));
      await trx.executeQuery(updateWhere(trx, 'acme_authorizations', { status: authzAfter.status, expires: authzAfter.expires }, { id: authz.id }));
      const orders = await openOrdersUsing(trx, account.id, quotedPattern(authz.id));
      for (const instanceId of new Set(orders.map((o) => o.instance_id))) {
        await recordEvent(trx, {
          instanceId,
          type: valid ? 'acme_challenge_validated' : 'acme_challenge_failed',
          message: valid ? `ACME ${challenge.type} challenge for ${domain} validated.` : `ACME ${challenge.type} challenge for ${domain} failed: ${result.message}`,
          at: now,
          data: { domain, challenge: challenge.type, result },
        });
      }
      if (problem) await failOrders(trx, orders, { ...problem, detail: `Control of ${domain} was not proven: ${problem.detail}` }, `failed domain validation of ${domain}`, now);
    });
    return { challenge: settled, authz: authzAfter };
  });
}

function runCheck(ctx: RaContext, type: AcmeChallengeType, domain: string, token: string, keyAuth: string): Promise<CheckResult> {
  switch (type) {
    case 'http-01':
      return checkAcmeHttp01(ctx.dns(), ctx.clock, { domain, token, keyAuthorization: keyAuth }, { port: ctx.dcvHttpPort });
    case 'dns-01':
      return checkAcmeDns01(ctx.dns(), ctx.clock, { domain, keyAuthorization: keyAuth });
    case 'tls-alpn-01':
      return checkTlsAlpn01(ctx.dns(), ctx.clock, { domain, keyAuthorization: keyAuth }, { port: ctx.dcvTlsPort });
  }
}
