/**
 * ACME orders. An order IS an application on one of the subscriber's DV
 * instances: newOrder picks a pending instance whose quota fits the names,
 * saves the application (CSR to come at finalize) and moves the instance to
 * domain_verification; finalize hands the CSR to the same issuance path as
 * the REST flow. Each step is an event on the instance's timeline.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { sql } from 'kysely';
import { CertdeskError } from '../../errors.js';
import type { ParsedCsr } from '../../pki/csr.js';
import { toPem } from '../../pki/pem.js';
import { publicKeyFromSpki } from '../../pki/spki_key.js';
import { newId } from '../../store/ids.js';
import { compiledOnce, insertRows, prepared, updateWhere } from '../../store/prepared.js';
import type { AcmeAccountTable, AcmeAuthorizationTable, AcmeChallengeType, AcmeOrderStatus, AcmeOrderTable, ApplicationTable, InstanceTable } from '../../store/schema.js';
import { expectedIssueWindow } from '../business_days.js';
import type { RaContext } from '../context.js';
import { checkCsrOnce } from '../checked_csrs.js';
import { issueIfReady } from '../issuance.js';
import { checkNames, quotaFor, registeredDomain, type BoundName, type NameQuota } from '../names.js';
import { nextStatus } from '../state_machine.js';
import { recordEvent } from '../timeline.js';
import { authorizationFor, challengeTypesFor, type AcmeIdentifier } from './authorizations.js';
import { acmeRequester, askCaa } from './caa.js';
import { acmeError, storedProblem, type StoredProblem } from './errors.js';
import { failOrders, releaseInstance } from './order_failure.js';
import { countOrder, enforceOrderLimits } from './rate_limits.js';
import { certificateByCertId } from './renewal_info.js';

export const ORDER_LIFETIME_DAYS = 7;
const MAX_IDENTIFIERS = 100;

export interface OrderView {
  order: AcmeOrderTable;
  identifiers: { type: 'dns'; value: string }[];
  authorizationIds: string[];
}

/** RFC 8555 §7.1.3 identifiers → checked names (DNS only; IP identifiers are not offered). */
export function parseIdentifiers(input: unknown): BoundName[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_IDENTIFIERS) {
    throw acmeError('malformed', `identifiers must be a list of 1 to ${MAX_IDENTIFIERS} {"type":"dns","value":NAME} objects.`);
  }
  const values = input.map((id: unknown) => {
    const { type, value } = (id ?? {}) as { type?: unknown; value?: unknown };
    if (type !== 'dns') throw acmeError('unsupportedIdentifier', `Identifier type ${JSON.stringify(type)} is not supported; this CA issues for dns identifiers.`);
    if (typeof value !== 'string') throw acmeError('malformed', 'Each identifier needs a string value.');
    return value;
  });
  try {
    return checkNames(values, { wildcard: MAX_IDENTIFIERS, plain: MAX_IDENTIFIERS }, { allowIp: false });
  } catch (err) {
    if (err instanceof CertdeskError) throw acmeError('rejectedIdentifier', err.message);
    throw err;
  }
}

/** Whether an instance's quota covers the names; among those that do, the smallest quota is used first. */
export function fits(quota: NameQuota, names: readonly BoundName[]): boolean {
  const wildcards = names.filter((n) => n.kind === 'wildcard').length;
  return wildcards <= quota.wildcard && names.length - wildcards <= quota.plain;
}

function describeNeed(names: readonly BoundName[]): string {
  const wildcards = names.filter((n) => n.kind === 'wildcard').length;
  const plain = names.length - wildcards;
  return [plain ? `${plain} name${plain > 1 ? 's' : ''}` : '', wildcards ? `${wildcards} wildcard${wildcards > 1 ? 's' : ''}` : ''].filter(Boolean).join(' and ');
}

/**
 * Refuses the order when CAA forbids this account to issue for a name by
 * every challenge that could prove it; else the challenge types CAA allows, per name.
 */
async function caaAllowedTypes(ctx: RaContext, accountId: string, names: readonly BoundName[]): Promise<AcmeChallengeType[][]> {
  const offered = names.map((n) => challengeTypesFor({ name: n.name.replace(/^\*\./, ''), wildcard: n.kind === 'wildcard' }));
  const caa = await askCaa(ctx, accountId, names.map((n, i) => ({ name: n.name, display: n.display, methods: offered[i] ?? [] })));
  if (caa.refusal) throw acmeError('caa', caa.refusal);
  return offered.map((types, i) => types.filter((type) => caa.allowedMethods[i]?.includes(type)));
}

/** The challenge type that proved each name of the order. */
async function provingTypes(ctx: RaContext, order: AcmeOrderTable): Promise<Map<string, string>> {
  const ids = JSON.parse(order.authorization_ids) as string[];
  const rows = await ctx.db
    .selectFrom('acme_challenges')
    .innerJoin('acme_authorizations', 'acme_authorizations.id', 'acme_challenges.authorization_id')
    .select(['acme_authorizations.identifier', 'acme_authorizations.wildcard', 'acme_challenges.type'])
    .where('acme_challenges.authorization_id', 'in', ids)
    .where('acme_challenges.status', '=', 'valid')
    .execute();
  return new Map(rows.map((r) => [r.wildcard ? `*.${r.identifier}` : r.identifier, r.type]));
}

const selectOrder = prepared((db, id: string) => db.selectFrom('acme_orders').selectAll().where('id', '=', id));
const selectInstanceOutcome = prepared((db, id: string) => db.selectFrom('instances').select(['status', 'certificate_id', 'failure_reason']).where('id', '=', id));
const selectOwnerEmail = prepared((db, id: string) => db.selectFrom('users').select('email').where('id', '=', id));
const selectEabInstance = prepared((db, kid: string) => db.selectFrom('acme_eab_keys').select('instance_id').where('id', '=', kid));
const selectOrderOfCertificate = prepared((db, accountId: string, certificateId: string) =>
  db.selectFrom('acme_orders').select('id').where('account_id', '=', accountId).where('certificate_id', '=', certificateId),
);
const selectCertificatePems = prepared((db, id: string) => db.selectFrom('certificates').select(['pem', 'chain_pem']).where('id', '=', id));
const selectApplicationOf = prepared((db, instanceId: string) => db.selectFrom('applications').select('instance_id').where('instance_id', '=', instanceId));
const deleteValidationsOf = prepared((db, instanceId: string) => db.deleteFrom('validations').where('instance_id', '=', instanceId));

/** Which kinds of DV instance can hold the names of an order. */
interface Fit {
  single: boolean;
  wildcard: boolean;
  /** A multi-domain instance of at least `plain` names; it holds no wildcard (see quotaFor). */
  multi: boolean;
  plain: number;
}

/** The kinds of instance that can hold `names`; null when none can. */
function fitFor(names: readonly BoundName[]): Fit | null {
  const wildcards = names.filter((n) => n.kind === 'wildcard').length;
  const fit = {
    single: fits(quotaFor([{ domainType: 'single', domainCount: 1 }]), names),
    wildcard: fits(quotaFor([{ domainType: 'wildcard', domainCount: 1 }]), names),
    multi: wildcards === 0,
    plain: names.length - wildcards,
  };
  return fit.single || fit.wildcard || fit.multi ? fit : null;
}

/**
 * The subscriber's unclaimed DV instance that can hold the names: the
 * smallest (domain_count is the size: 1 for single and wildcard, N for
 * multi), then the oldest; read through the instances_dv_unclaimed index,
 * so a subscriber holding thousands of instances costs no more than one
 * holding a few. `parameters` are the values the query binds, in order, so
 * it is compiled once per kind of order (compiledOnce).
 */
function firstFitting(ctx: RaContext, ownerId: string, fit: Fit, onlyInstance: string | null) {
  let q = ctx.db
    .selectFrom('instances')
    .select('id')
    .where('owner_id', '=', ownerId)
    // Literals, not parameters: SQLite uses a partial index only when the query names its conditions.
    .where('product', '=', sql.lit('dv'))
    .where('status', '=', sql.lit('pending_application'))
    .where('combined_into', 'is', null)
    .where((eb) =>
      eb.or([
        ...(fit.single ? [eb('domain_type', '=', 'single')] : []),
        ...(fit.wildcard ? [eb('domain_type', '=', 'wildcard')] : []),
        ...(fit.multi ? [eb.and([eb('domain_type', '=', 'multi'), eb('domain_count', '>=', fit.plain)])] : []),
      ]),
    );
  if (onlyInstance) q = q.where('id', '=', onlyInstance);
  const parameters = [ownerId, ...(fit.single ? ['single'] : []), ...(fit.wildcard ? ['wildcard'] : []), ...(fit.multi ? ['multi', fit.plain] : []), ...(onlyInstance ? [onlyInstance] : []), 1];
  const shape = `single=${fit.single} wildcard=${fit.wildcard} multi=${fit.multi} only=${onlyInstance !== null}`;
  return { query: q.orderBy('domain_count').orderBy('created_at').limit(1), parameters, shape };
}

/**
 * Takes the first fitting pending DV instance of the account's subscriber in
 * one statement, so two orders never share one. On PostgreSQL two orders may
 * choose the same instance at once; the later update then changes nothing,
 * and it chooses again while a fitting instance is left.
 */
async function claimInstance(ctx: RaContext, account: AcmeAccountTable, names: readonly BoundName[]): Promise<InstanceTable> {
  if (!account.owner_id) {
    throw acmeError('unauthorized', 'This ACME account is not bound to a subscriber; create it with External Account Binding (an EAB key from certdesk) to order certificates.');
  }
  const fit = fitFor(names);
  if (!fit) throw acmeError('unauthorized', noInstanceCanHold(names));
  const onlyInstance = account.eab_kid
    ? (await selectEabInstance(ctx.db, account.eab_kid))[0]?.instance_id ?? null
    : null;
  const first = firstFitting(ctx, account.owner_id, fit, onlyInstance);
  const claimed = (await claimFirstFitting(ctx, first)) ?? ((await releaseLapsedOrders(ctx, account.owner_id)) ? await claimFirstFitting(ctx, first) : null);
  if (claimed) return claimed;
  const where = onlyInstance ? `instance ${onlyInstance} (named by the EAB key) is not pending application or does not cover` : 'there is no pending DV instance left that covers';
  throw acmeError('unauthorized', `Cannot order: ${where} ${describeNeed(names)}. Ask your admin for another DV instance (single, wildcard or multi-domain as needed).`);
}

async function claimFirstFitting(ctx: RaContext, first: ReturnType<typeof firstFitting>): Promise<InstanceTable | null> {
  const target = nextStatus('pending_application', 'submit', 'dv');
  for (;;) {
    const now = ctx.clock.now().toISOString();
    const claim = compiledOnce(ctx.db, `acme claim instance ${first.shape}`, [target, now, ...first.parameters], () =>
      ctx.db.updateTable('instances').set({ status: target, updated_at: now }).where('id', '=', first.query).where('status', '=', sql.lit('pending_application')).returningAll().compile(),
    );
    const [claimed] = (await ctx.db.executeQuery(claim)).rows;
    if (claimed) return claimed;
    const left = compiledOnce(ctx.db, `acme first fitting instance ${first.shape}`, first.parameters, () => first.query.compile());
    if ((await ctx.db.executeQuery(left)).rows.length === 0) return null;
  }
}

/** Why no DV instance can hold these names in one certificate, and how to split the order so that each part fits one. */
function noInstanceCanHold(names: readonly BoundName[]): string {
  const wildcards = names.filter((n) => n.kind === 'wildcard').map((n) => n.display);
  const others = names.length - wildcards.length;
  const split = `place one order for each wildcard (${wildcards.join(', ')})${others ? ` and one for the other ${others > 1 ? `${others} names` : 'name'}` : ''}`;
  return `No DV instance can hold ${names.map((n) => n.display).join(', ')} in one certificate: a wildcard instance holds exactly one name like *.example.com, and single and multi-domain instances hold no wildcard. Instead, ${split}; each order needs a DV instance of its own.`;
}

function contactEmail(account: AcmeAccountTable, ownerEmail: string): string {
  const first = (JSON.parse(account.contact) as string[])[0];
  return first ? first.slice('mailto:'.length) : ownerEmail;
}

/** Saves the application on the claimed instance and submits it: CSR mode manual, the CSR comes with finalize. */
async function applyOnInstance(ctx: RaContext, account: AcmeAccountTable, instance: InstanceTable, names: BoundName[], orderId: string): Promise<void> {
  const now = ctx.clock.now();
  const [owner] = await selectOwnerEmail(ctx.db, instance.owner_id);
  if (!owner) throw new Error(`instance ${instance.id} names owner ${instance.owner_id}, who does not exist`);
  const email = contactEmail(account, owner.email);
  const row: ApplicationTable = {
    instance_id: instance.id,
    domains: JSON.stringify(names),
    contact: JSON.stringify({ name: email, email, phone: '', idNumber: '' }),
    organization: null,
    csr_mode: 'manual',
    key_algorithm: null,
    csr_pem: null,
    key_sealed: null,
    email_confirm_token_hash: null,
    email_confirmed_at: null,
    phone_verification: null,
    updated_at: now.toISOString(),
  };
  const window = expectedIssueWindow('dv', now);
  await ctx.db.transaction().execute(async (trx) => {
    const [previous] = await selectApplicationOf(trx, instance.id);
    await trx.executeQuery(previous ? updateWhere(trx, 'applications', row, { instance_id: instance.id }) : insertRows(trx, 'applications', row));
    // Domain control is proven by the ACME challenges, not by the REST method's records.
    await deleteValidationsOf(trx, instance.id);
    await trx.executeQuery(
      updateWhere(
        trx,
        'instances',
        {
          domains_text: names.map((n) => n.name).join(' '),
          submission_round: instance.submission_round + 1,
          submitted_at: now.toISOString(),
          expected_issue_earliest: window.earliest.toISOString(),
          expected_issue_latest: window.latest.toISOString(),
          failure_reason: null,
        },
        { id: instance.id },
      ),
    );
  });
  await recordEvent(ctx.db, {
    instanceId: instance.id,
    type: 'acme_order_created',
    message: `ACME order ${orderId} created for ${names.map((n) => n.display).join(', ')}; domain control is proven by ACME challenges.`,
    at: now,
    data: { orderId, accountId: account.id },
  });
}

interface Replaced {
  /** The certID as the client sent it. */
  certId: string;
  certificateId: string;
}

/** RFC 9773 §5: the certificate a renewal order names in `replaces`; it must be the account's subscriber's and share a name with the order. */
async function replacedCertificate(ctx: RaContext, account: AcmeAccountTable, names: readonly BoundName[], replaces: unknown): Promise<Replaced | null> {
  if (replaces === undefined) return null;
  if (typeof replaces !== 'string') throw acmeError('malformed', 'replaces must be the ARI certID (a string) of the certificate this order replaces.');
  const cert = await certificateByCertId(ctx, replaces, 'replaces');
  // Another subscriber's certificate is "not found", as on every other path.
  if (!cert || cert.owner_id !== account.owner_id) throw acmeError('malformed', `This CA issued this account's subscriber no certificate ${replaces} to replace; check the certID (as for renewalInfo).`);
  const certNames = new Set((JSON.parse(cert.names) as string[]).map((n) => n.toLowerCase()));
  if (!names.some((n) => certNames.has(n.name))) {
    throw acmeError('malformed', `The certificate ${replaces} shares no identifier with this order; a renewal order names at least one of the names it replaces.`);
  }
  return { certId: replaces, certificateId: cert.id };
}

/** An order that issued its replacement, or one still open and not expired, holds the certificate; a failed or lapsed one does not. */
async function refuseIfReplaced(ctx: RaContext, replaced: Replaced): Promise<void> {
  const now = ctx.clock.now().toISOString();
  const earlier = await ctx.db
    .selectFrom('acme_orders')
    .select('id')
    .where('replaces_certificate_id', '=', replaced.certificateId)
    .where((eb) => eb.or([eb('status', '=', 'valid'), eb.and([eb('status', '!=', 'invalid'), eb('expires', '>', now)])]))
    .executeTakeFirst();
  if (earlier) {
    throw acmeError('alreadyReplaced', `The certificate ${replaced.certId} is already being replaced by order ${earlier.id}; finish that order, or leave out replaces.`);
  }
}

export async function newOrder(ctx: RaContext, account: AcmeAccountTable, payload: Record<string, unknown>): Promise<OrderView> {
  if (payload.notBefore !== undefined || payload.notAfter !== undefined) {
    throw acmeError('malformed', 'notBefore and notAfter are not supported; leave them out and the CA picks the validity.');
  }
  const names = parseIdentifiers(payload.identifiers);
  const replaced = await replacedCertificate(ctx, account, names, payload.replaces);
  if (!replaced) return placeOrder(ctx, account, names, null);
  // One order at a time may claim a certificate as the one it replaces.
  return ctx.locks.run(`acme-replaces:${replaced.certificateId}`, async () => {
    await refuseIfReplaced(ctx, replaced);
    return placeOrder(ctx, account, names, replaced);
  });
}

async function placeOrder(ctx: RaContext, account: AcmeAccountTable, names: BoundName[], replaced: Replaced | null): Promise<OrderView> {
  const domains = [...new Set(names.map((n) => registeredDomain(n.name)).filter((d): d is string => d !== null))];
  // The CAA lookups wait on DNS, not on this process: they run while the rate limits are counted.
  const [, allowedTypes] = await Promise.all([enforceOrderLimits(ctx, account.id, domains), caaAllowedTypes(ctx, account.id, names)]);
  const instance = await claimInstance(ctx, account, names);
  const orderId = newId('order');
  await applyOnInstance(ctx, account, instance, names, orderId);
  const identifiers: AcmeIdentifier[] = names.map((n) => ({ name: n.name.replace(/^\*\./, ''), wildcard: n.kind === 'wildcard' }));
  const authzs: AcmeAuthorizationTable[] = [];
  for (const [i, identifier] of identifiers.entries()) authzs.push(await authorizationFor(ctx, account.id, identifier, allowedTypes[i] ?? []));
  const now = ctx.clock.now();
  const order: AcmeOrderTable = {
    id: orderId,
    account_id: account.id,
    instance_id: instance.id,
    identifiers: JSON.stringify(names.map((n) => ({ type: 'dns', value: n.name }))),
    authorization_ids: JSON.stringify(authzs.map((a) => a.id)),
    status: authzs.every((a) => a.status === 'valid') ? 'ready' : 'pending',
    expires: new Date(now.getTime() + ORDER_LIFETIME_DAYS * 86400_000).toISOString(),
    error: null,
    certificate_id: null,
    replaces: replaced?.certId ?? null,
    replaces_certificate_id: replaced?.certificateId ?? null,
    created_at: now.toISOString(),
  };
  await ctx.db.executeQuery(insertRows(ctx.db, 'acme_orders', order));
  await countOrder(ctx, account.id, domains);
  for (const authz of authzs.filter((a) => a.status === 'valid')) {
    await recordEvent(ctx.db, {
      instanceId: instance.id,
      type: 'acme_challenge_validated',
      message: `Control of ${authz.wildcard ? '*.' : ''}${authz.identifier} was proven by this ACME account earlier; its authorization is reused until ${authz.expires}.`,
      at: now,
      data: { orderId, authorizationId: authz.id, reused: true },
    });
  }
  return view(order);
}

function view(order: AcmeOrderTable): OrderView {
  return { order, identifiers: JSON.parse(order.identifiers) as OrderView['identifiers'], authorizationIds: JSON.parse(order.authorization_ids) as string[] };
}

const EXPIRED = storedProblem('malformed', 'The order expired before it was finalized; place a new order.');

/** Fails one order and hands its instance back, in one transaction; returns the order as it now is. */
async function failOrder(ctx: RaContext, order: AcmeOrderTable, problem: StoredProblem, reason: string): Promise<AcmeOrderTable> {
  await ctx.db.transaction().execute((trx) => failOrders(trx, [order], problem, reason, ctx.clock.now()));
  return { ...order, status: 'invalid', error: JSON.stringify(problem) };
}

/**
 * Fails the subscriber's orders that expired unread, handing their instances
 * back; true when there were any. Asked only when no instance is left for a
 * new order, so it costs nothing while instances remain.
 */
async function releaseLapsedOrders(ctx: RaContext, ownerId: string): Promise<boolean> {
  const now = ctx.clock.now();
  const lapsed = await ctx.db
    .selectFrom('acme_orders')
    .innerJoin('acme_accounts', 'acme_accounts.id', 'acme_orders.account_id')
    .select(['acme_orders.id', 'acme_orders.instance_id'])
    .where('acme_accounts.owner_id', '=', ownerId)
    .where('acme_orders.status', 'in', [sql.lit<AcmeOrderStatus>('pending'), sql.lit<AcmeOrderStatus>('ready')])
    .where('acme_orders.expires', '<=', now.toISOString())
    .execute();
  if (lapsed.length === 0) return false;
  await ctx.db.transaction().execute((trx) => failOrders(trx, lapsed, EXPIRED, 'expired', now));
  return true;
}

/**
 * Brings a pending or ready order's status up to date with its authorizations,
 * its expiry and its instance. A ready order whose instance is already issued
 * or failed was finalized by a server that stopped before it recorded the
 * outcome on the order; it is settled from the instance. (`processing` is
 * never written any more; rows left in it by earlier versions settle the same way.)
 */
async function refresh(ctx: RaContext, order: AcmeOrderTable): Promise<AcmeOrderTable> {
  if (order.status !== 'pending' && order.status !== 'ready' && order.status !== 'processing') return order;
  const now = ctx.clock.now();
  const ids = JSON.parse(order.authorization_ids) as string[];
  const authzs = (await ctx.db.executeQuery(compiledOnce(ctx.db, `acme authorization statuses ×${ids.length}`, ids, () => ctx.db.selectFrom('acme_authorizations').select(['status', 'expires']).where('id', 'in', ids).compile()))).rows;
  const instance = await instanceOutcome(ctx, order.instance_id);
  let next: AcmeOrderTable = order;
  if (order.status !== 'pending' && (instance.status === 'issued' || instance.status === 'validation_failed')) {
    next = settledOrder(order, instance);
  } else if (new Date(order.expires) <= now) {
    return failOrder(ctx, order, EXPIRED, 'expired');
  } else if (instance.status !== 'domain_verification') {
    next = { ...order, status: 'invalid', error: JSON.stringify(storedProblem('unauthorized', `The application on instance ${order.instance_id} was withdrawn or changed outside ACME.`)) };
  } else if (authzs.some((a) => a.status !== 'pending' && a.status !== 'valid')) {
    return failOrder(ctx, order, storedProblem('unauthorized', 'An authorization of the order failed; see its challenge for what the CA found.'), 'failed domain validation');
  } else if (authzs.length === ids.length && authzs.every((a) => a.status === 'valid')) {
    next = { ...order, status: 'ready' };
  }
  if (next.status !== order.status) await ctx.db.executeQuery(updateWhere(ctx.db, 'acme_orders', { status: next.status, error: next.error, certificate_id: next.certificate_id }, { id: order.id }));
  return next;
}

async function instanceOutcome(ctx: RaContext, instanceId: string): Promise<Pick<InstanceTable, 'status' | 'certificate_id' | 'failure_reason'>> {
  const [instance] = await selectInstanceOutcome(ctx.db, instanceId);
  if (!instance) throw new Error(`ACME order names instance ${instanceId}, which does not exist`);
  return instance;
}

async function loadOrder(ctx: RaContext, account: AcmeAccountTable, id: string): Promise<AcmeOrderTable> {
  const [order] = await selectOrder(ctx.db, id);
  if (!order || order.account_id !== account.id) throw acmeError('malformed', `There is no order ${id} of this account.`, { status: 404 });
  return order;
}

export async function getOrder(ctx: RaContext, account: AcmeAccountTable, id: string): Promise<OrderView> {
  return view(await refresh(ctx, await loadOrder(ctx, account, id)));
}

export async function listOrderIds(ctx: RaContext, account: AcmeAccountTable): Promise<string[]> {
  const rows = await ctx.db.selectFrom('acme_orders').select('id').where('account_id', '=', account.id).where('status', 'in', ['pending', 'ready', 'processing']).orderBy('created_at', 'desc').limit(1000).execute();
  return rows.map((r) => r.id);
}

const CSR_FORMAT = 'the base64url-encoded DER of a PKCS#10 certificate signing request';

/** finalize (§7.4): the CSR must name exactly the order's identifiers; then the instance is issued through the RA's issuance path. */
export async function finalizeOrder(ctx: RaContext, account: AcmeAccountTable, id: string, csrB64: unknown, certificateUrl: (certificateId: string) => string): Promise<OrderView> {
  const order = await refresh(ctx, await loadOrder(ctx, account, id));
  if (order.status !== 'ready') throw notReady(order, certificateUrl);
  if (typeof csrB64 !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrB64)) throw acmeError('malformed', `finalize needs csr: ${CSR_FORMAT}.`);
  const pem = toPem(Buffer.from(csrB64, 'base64url'), 'CERTIFICATE REQUEST');
  const names = (JSON.parse(order.identifiers) as { value: string }[]).map((i) => i.value);
  refuseAccountKey(account, (await checkFinalizeCsr(pem, names)).spkiDer);
  return ctx.locks.run(order.instance_id, async () => {
    // Under the instance's lock: a finalize that got here first has recorded its outcome.
    const [current] = await selectOrder(ctx.db, id);
    if (current && current.status !== 'ready') throw notReady(current, certificateUrl);
    const now = ctx.clock.now();
    await ctx.db.executeQuery(updateWhere(ctx.db, 'applications', { csr_pem: pem, updated_at: now.toISOString() }, { instance_id: order.instance_id }));
    await recordEvent(ctx.db, { instanceId: order.instance_id, type: 'acme_finalized', message: `ACME order ${id} finalized with the client's CSR for ${names.join(', ')}.`, at: now, data: { orderId: id } });
    // newOrder asked CAA for every name, for this account and the challenge types it then offered or reused;
    // past the reuse window CAA is asked again with the type that proved each name.
    await issueIfReady(ctx, order.instance_id, { caaAllowedAt: new Date(order.created_at), caaRequester: acmeRequester(ctx, account.id, await provingTypes(ctx, order)) });
    const done = settledOrder(order, await instanceOutcome(ctx, order.instance_id));
    await ctx.db.executeQuery(updateWhere(ctx.db, 'acme_orders', { status: done.status, certificate_id: done.certificate_id, error: done.error }, { id }));
    // Refused at the last checks (CAA asked again, the CA): like a failed challenge, the order hands its instance back.
    if (done.status === 'invalid') await releaseInstance(ctx.db, order, 'was refused at finalize', ctx.clock.now(), 'validation_failed');
    return view(done);
  });
}

/** The CSR checked as for any application; what is wrong with it is badCSR. */
async function checkFinalizeCsr(pem: string, names: string[]): Promise<ParsedCsr> {
  try {
    // Issuance parses the same PEM again; checkCsrOnce lets it reuse this parse.
    return await checkCsrOnce(pem, names);
  } catch (err) {
    if (!(err instanceof CertdeskError)) throw err;
    // The CSR parser's advice is for someone pasting PEM into a form; an ACME client sends DER.
    const problem = err.code === 'CSR_INVALID' ? err.details?.problem : undefined;
    throw acmeError('badCSR', typeof problem === 'string' ? `${problem} Send csr as ${CSR_FORMAT}.` : err.message);
  }
}

/** The orderNotReady problem for finalizing an order in `order.status`, saying what the client can do instead. */
function notReady(order: AcmeOrderTable, certificateUrl: (certificateId: string) => string): CertdeskError {
  if (order.status === 'valid' && order.certificate_id) {
    return acmeError('orderNotReady', `Order ${order.id} is already finalized; download its certificate from ${certificateUrl(order.certificate_id)}.`);
  }
  if (order.status === 'invalid') {
    const cause = order.error ? ` (${(JSON.parse(order.error) as StoredProblem).detail})` : '';
    return acmeError('orderNotReady', `Order ${order.id} is invalid${cause} and can never be finalized; place a new order.`);
  }
  return acmeError('orderNotReady', `Order ${order.id} is ${order.status}; it can be finalized once every authorization is valid (status "ready").`);
}

/**
 * RFC 8555 §11.1: a certificate must not carry the account's key. The
 * account key's first component (EC or OKP x, RSA modulus) lies in the SPKI
 * of the same key, so a CSR without those bytes is passed over without
 * importing either key.
 */
function refuseAccountKey(account: AcmeAccountTable, spkiDer: Buffer): void {
  const jwk = JSON.parse(account.jwk) as JsonWebKey;
  const component = Buffer.from(jwk.x ?? jwk.n ?? '', 'base64url');
  if (component.length === 0 || !spkiDer.includes(component)) return;
  if (publicKeyFromSpki(spkiDer).equals(createPublicKey({ key: jwk, format: 'jwk' }))) {
    throw acmeError('badCSR', "The CSR's public key is this ACME account's key; generate a separate key pair for the certificate and sign the CSR with it.");
  }
}

/** What a finalized order became, read from its instance: valid with the certificate, or invalid with the cause. */
function settledOrder(order: AcmeOrderTable, instance: Pick<InstanceTable, 'status' | 'certificate_id' | 'failure_reason'>): AcmeOrderTable {
  if (instance.status === 'issued' && instance.certificate_id) return { ...order, status: 'valid', certificate_id: instance.certificate_id, error: null };
  const cause = instance.failure_reason ?? 'The certificate could not be issued.';
  return { ...order, status: 'invalid', error: JSON.stringify(storedProblem(/CAA/.test(cause) ? 'caa' : 'serverInternal', cause)) };
}

/** The issued certificate and its chain (leaf first), for the account that ordered it. */
export async function certificateChain(ctx: RaContext, account: AcmeAccountTable, certificateId: string): Promise<string> {
  const [order] = await selectOrderOfCertificate(ctx.db, account.id, certificateId);
  const [cert] = order ? await selectCertificatePems(ctx.db, certificateId) : [];
  if (!cert) throw acmeError('malformed', `There is no certificate ${certificateId} ordered by this account.`, { status: 404 });
  return cert.pem + cert.chain_pem;
}
