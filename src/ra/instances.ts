/**
 * Instances: the purchased certificate quotas ("buy"), their listing, their
 * detail view, and combining several OV/EV instances into one application.
 */
import { sql } from 'kysely';
import { badRequest, CertdeskError, forbidden, notFound } from '../errors.js';
import { newId } from '../store/ids.js';
import { insertRows, prepared } from '../store/prepared.js';
import type { DomainType, InstanceStatus, InstanceTable, Product } from '../store/schema.js';
import { type Actor, canActOn, requireRole } from './actor.js';
import type { RaContext } from './context.js';
import { instancesMatching, normalizeDomainQuery } from './domain_search.js';
import { liveCounts, totalOf } from './instance_counts.js';
import { quotaFor, type NameQuota } from './names.js';
import { availableActions, nextStatus, STATUSES } from './state_machine.js';
import { eventInsert, recordEvent } from './timeline.js';

export const PRODUCTS: readonly Product[] = ['dv', 'ov', 'ev'];
export const DOMAIN_TYPES: readonly DomainType[] = ['single', 'wildcard', 'multi'];
const MAX_MULTI_DOMAINS = 250;
const MAX_TERM_MONTHS = 60;

export interface CreateInstanceInput {
  owner?: string;
  product: string;
  domainType: string;
  domainCount?: number;
  termMonths?: number;
}

/** The last page a list may ask for: its offset stays far inside SQLite's and PostgreSQL's 64-bit integers. */
export const MAX_PAGE = 1_000_000;

export interface ListQuery {
  status?: string;
  domain?: string;
  page?: number;
  pageSize?: number;
}

/** Creates an instance; the row comes back as the summary query would read it, so the reply needs no read. */
export async function createInstance(ctx: RaContext, actor: Actor, input: CreateInstanceInput): Promise<SummaryRow> {
  const selfService = ctx.settings.current().selfServicePurchase;
  if (actor.role !== 'admin' && !(selfService && actor.role === 'subscriber')) {
    throw forbidden('Only an admin can grant certificate instances; ask an admin, or have self-service purchase enabled in the settings.');
  }
  if (!PRODUCTS.includes(input.product as Product)) {
    throw badRequest('PRODUCT_INVALID', `product must be one of ${PRODUCTS.join(', ')} (domain validated, organization validated, extended validation).`, 'product');
  }
  if (!DOMAIN_TYPES.includes(input.domainType as DomainType)) {
    throw badRequest('DOMAIN_TYPE_INVALID', `domainType must be one of ${DOMAIN_TYPES.join(', ')}.`, 'domainType');
  }
  const domainType = input.domainType as DomainType;
  const domainCount = domainType === 'multi' ? (input.domainCount ?? 2) : 1;
  if (!Number.isInteger(domainCount) || domainCount < 1 || domainCount > MAX_MULTI_DOMAINS || (domainType !== 'multi' && input.domainCount !== undefined && input.domainCount !== 1)) {
    throw badRequest('DOMAIN_COUNT_INVALID', domainType === 'multi' ? `domainCount must be a whole number from 2 to ${MAX_MULTI_DOMAINS} for a multi-domain instance.` : `A ${domainType} instance covers exactly one name; leave domainCount out or set it to 1.`, 'domainCount');
  }
  if (domainType === 'multi' && domainCount < 2) {
    throw badRequest('DOMAIN_COUNT_INVALID', `domainCount must be a whole number from 2 to ${MAX_MULTI_DOMAINS} for a multi-domain instance.`, 'domainCount');
  }
  const termMonths = input.termMonths ?? 12;
  if (!Number.isInteger(termMonths) || termMonths < 1 || termMonths > MAX_TERM_MONTHS) {
    throw badRequest('TERM_INVALID', `termMonths must be a whole number from 1 to ${MAX_TERM_MONTHS}.`, 'termMonths');
  }
  const owner = await resolveOwner(ctx, actor, input.owner);
  const at = ctx.clock.now().toISOString();
  const row: InstanceTable = {
    id: newId('inst'),
    owner_id: owner.id,
    product: input.product as Product,
    domain_type: domainType,
    domain_count: domainCount,
    term_months: termMonths,
    status: 'pending_application',
    combined_into: null,
    domains_text: '',
    submission_round: 0,
    submitted_at: null,
    expected_issue_earliest: null,
    expected_issue_latest: null,
    failure_reason: null,
    certificate_id: null,
    created_at: at,
    updated_at: at,
  };
  await ctx.pipeline.transaction([
    insertRows(ctx.db, 'instances', row),
    eventInsert(ctx.db, { instanceId: row.id, type: 'instance_created', message: `Instance created: ${row.product.toUpperCase()} ${domainType}${domainType === 'multi' ? ` (${domainCount} domains)` : ''}, ${termMonths} months.`, at: ctx.clock.now(), actorId: actor.id }),
  ]);
  return { ...row, owner_email: owner.email, cert_serial: null, cert_not_before: null, cert_not_after: null };
}

const selectUserByEmail = prepared((db, email: string) => db.selectFrom('users').select(['id', 'email']).where('email', '=', email));

async function resolveOwner(ctx: RaContext, actor: Actor, ownerEmail: string | undefined): Promise<{ id: string; email: string }> {
  if (actor.role !== 'admin') {
    if (ownerEmail !== undefined && ownerEmail.toLowerCase() !== actor.email) throw forbidden('You can create instances only for yourself.');
    return actor;
  }
  if (!ownerEmail) throw badRequest('OWNER_REQUIRED', 'owner is required: the email of the subscriber who receives the instance.', 'owner');
  // Through the pipeline: on PostgreSQL it shares a connection with the other requests' batches (pg_lanes.ts).
  const [[owner]] = await ctx.pipeline.reads([selectUserByEmail.compiled(ctx.db, ownerEmail.toLowerCase())]);
  if (!owner) throw badRequest('OWNER_UNKNOWN', `There is no user ${ownerEmail}; add the user first (certdesk user add).`, 'owner');
  return owner;
}

/** Loads an instance the actor may see; anything else is "not found", whether it exists or not. */
export async function loadVisibleInstance(ctx: RaContext, actor: Actor, id: string): Promise<InstanceTable> {
  return visibleInstance(actor, id, await loadInstance(ctx, id));
}

/** `row` (instance `id` as read) if the actor may see it; anything else is "not found", whether it exists or not. */
export function visibleInstance<Row extends Pick<InstanceTable, 'owner_id' | 'product'>>(actor: Actor, id: string, row: Row | undefined): Row {
  if (!row || !visibleTo(actor, row)) throw notFound(`Instance ${id}`);
  return row;
}

/** The instance's row, whoever asks. */
export async function loadInstance(ctx: RaContext, id: string): Promise<InstanceTable | undefined> {
  return (await selectInstance(ctx.db, id))[0];
}

export const selectInstance = prepared((db, id: string) => db.selectFrom('instances').selectAll().where('id', '=', id));

function visibleTo(actor: Actor, row: Pick<InstanceTable, 'owner_id' | 'product'>): boolean {
  return canActOn(actor, row.owner_id) || (actor.role === 'reviewer' && row.product !== 'dv');
}

/** Loads an instance the actor may change: the owner's or, for admins, any. */
export async function loadOwnedInstance(ctx: RaContext, actor: Actor, id: string): Promise<InstanceTable> {
  return ownedInstance(actor, id, await loadInstance(ctx, id));
}

/** `row` (instance `id` as read) if the actor may change it: the owner's or, for admins, any. */
export function ownedInstance(actor: Actor, id: string, read: InstanceTable | undefined): InstanceTable {
  const row = visibleInstance(actor, id, read);
  if (!canActOn(actor, row.owner_id)) throw forbidden('Only the subscriber who owns this instance can change it.');
  if (row.combined_into) {
    throw new CertdeskError('INSTANCE_COMBINED', `This instance is combined into ${row.combined_into}; work on that instance instead.`, { status: 409 });
  }
  return row;
}

type QuotaPart = Pick<InstanceTable, 'domain_type' | 'domain_count'>;

/** The instances combined into `instance`; DV instances are never combined (see `combineInstances`), so they are not looked up. */
export type CombinedPart = QuotaPart & { id: string };

export async function combinedParts(ctx: RaContext, instance: Pick<InstanceTable, 'id' | 'product'>): Promise<CombinedPart[]> {
  if (instance.product === 'dv') return [];
  return ctx.db.selectFrom('instances').select(['id', 'domain_type', 'domain_count']).where('combined_into', '=', instance.id).execute();
}

/** The name quota of an instance and the instances combined into it. */
export function quotaWithParts(instance: QuotaPart, parts: readonly QuotaPart[]): NameQuota {
  return quotaFor([instance, ...parts].map((p) => ({ domainType: p.domain_type, domainCount: p.domain_count })));
}

/** The name quota of an instance, including any instances combined into it. */
export async function quotaOf(ctx: RaContext, instance: InstanceTable): Promise<NameQuota> {
  return quotaWithParts(instance, await combinedParts(ctx, instance));
}

export interface InstanceSummary {
  id: string;
  owner: string;
  product: Product;
  domainType: DomainType;
  domainCount: number;
  termMonths: number;
  status: InstanceStatus;
  domains: string[];
  combinedInto: string | null;
  submittedAt: string | null;
  expectedIssueDate: { earliest: string; latest: string } | null;
  failureReason: string | null;
  certificate: { id: string; serial: string; notBefore: string; notAfter: string } | null;
  /** The names the application may bind: the instance's own, plus those of the instances combined into it. */
  quota: NameQuota;
  combinedFrom: string[];
  actions: string[];
  createdAt: string;
  updatedAt: string;
}

export type SummaryRow = InstanceTable & { owner_email: string; cert_serial: string | null; cert_not_before: string | null; cert_not_after: string | null };

/**
 * `parts`: the instances combined into this one (none for most). `viewerId`:
 * who looks; only the owner is offered the download, which may hold the key.
 */
export function summarize(row: SummaryRow, viewerId: string, parts: readonly CombinedPart[] = []): InstanceSummary {
  return {
    id: row.id,
    owner: row.owner_email,
    product: row.product,
    domainType: row.domain_type,
    domainCount: row.domain_count,
    termMonths: row.term_months,
    status: row.status,
    domains: row.domains_text ? row.domains_text.split(' ') : [],
    combinedInto: row.combined_into,
    submittedAt: row.submitted_at,
    expectedIssueDate: row.expected_issue_earliest && row.expected_issue_latest ? { earliest: row.expected_issue_earliest, latest: row.expected_issue_latest } : null,
    failureReason: row.failure_reason,
    certificate:
      row.certificate_id && row.cert_serial && row.cert_not_before && row.cert_not_after
        ? { id: row.certificate_id, serial: row.cert_serial, notBefore: row.cert_not_before, notAfter: row.cert_not_after }
        : null,
    quota: quotaWithParts(row, parts),
    combinedFrom: parts.map((p) => p.id),
    actions: row.combined_into ? [] : availableActions(row.status, row.product, row.certificate_id !== null).filter((a) => a !== 'download' || viewerId === row.owner_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function summaryQuery(db: RaContext['db']) {
  return db
    .selectFrom('instances')
    .innerJoin('users', 'users.id', 'instances.owner_id')
    .leftJoin('certificates', 'certificates.id', 'instances.certificate_id')
    .selectAll('instances')
    .select(['users.email as owner_email', 'certificates.serial as cert_serial', 'certificates.not_before as cert_not_before', 'certificates.not_after as cert_not_after']);
}

export const selectSummaryRow = prepared((db, id: string) => summaryQuery(db).where('instances.id', '=', id));

/** Like `loadVisibleInstance`, with the instance's summary from the same query. */
export async function loadVisibleSummary(ctx: RaContext, actor: Actor, id: string): Promise<{ instance: InstanceTable; summary: InstanceSummary }> {
  return visibleSummary(actor, id, (await selectSummaryRow(ctx.db, id))[0]);
}

/** The instance and its summary from a row of `selectSummaryRow`, if the actor may see it. */
export function visibleSummary(actor: Actor, id: string, row: SummaryRow | undefined): { instance: InstanceTable; summary: InstanceSummary } {
  const visible = visibleInstance(actor, id, row);
  return { instance: visible, summary: summarize(visible, actor.id) };
}

/**
 * One page of the actor's live instances, newest first. Subscribers and
 * reviewers see their own; admins see all. Without a domain the total comes
 * from the per-status counters; with one, it counts the (few) matches.
 */
export async function listInstances(ctx: RaContext, actor: Actor, query: ListQuery): Promise<{ items: InstanceSummary[]; total: number; page: number; pageSize: number }> {
  const page = query.page ?? 1;
  const pageSize = query.pageSize ?? 20;
  if (!Number.isInteger(page) || page < 1 || page > MAX_PAGE) throw badRequest('PAGE_INVALID', `page must be a whole number from 1 to ${MAX_PAGE}.`, 'page');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw badRequest('PAGE_SIZE_INVALID', 'pageSize must be a whole number from 1 to 100.', 'pageSize');
  if (query.status !== undefined && !STATUSES.includes(query.status as InstanceStatus)) {
    throw badRequest('STATUS_INVALID', `status must be one of ${STATUSES.join(', ')}.`, 'status');
  }
  const status = query.status as InstanceStatus | undefined;
  const ownerId = actor.role === 'subscriber' || actor.role === 'reviewer' ? actor.id : null;
  const domain = query.domain ? normalizeDomainQuery(query.domain) : '';
  let rows = summaryQuery(ctx.db).where('instances.combined_into', 'is', null);
  let matches = ctx.db.selectFrom('instances').where('instances.combined_into', 'is', null);
  // With a domain, the few matching names lead: owner and status are then
  // compared as expressions, which no index serves, so the planner cannot
  // choose to walk all of an owner's instances instead (it has no statistics).
  const owner = domain ? sql<string>`instances.owner_id || ''` : sql<string>`instances.owner_id`;
  const statusOf = domain ? sql<string>`instances.status || ''` : sql<string>`instances.status`;
  if (ownerId) {
    rows = rows.where(owner, '=', ownerId);
    matches = matches.where(owner, '=', ownerId);
  }
  if (status) {
    rows = rows.where(statusOf, '=', status);
    matches = matches.where(statusOf, '=', status);
  }
  if (domain) {
    rows = rows.where('instances.id', 'in', instancesMatching(ctx.db, domain));
    matches = matches.where('instances.id', 'in', instancesMatching(ctx.db, domain));
  }
  // (created_at, id) both descending: the order of the live indexes read backwards, so a page needs no sort.
  const [items, total] = await Promise.all([
    rows.orderBy('instances.created_at', 'desc').orderBy('instances.id', 'desc').limit(pageSize).offset((page - 1) * pageSize).execute(),
    domain
      ? matches.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow().then((r) => Number(r.n))
      : liveCounts(ctx, ownerId).then((counts) => (status ? counts[status] : totalOf(counts))),
  ]);
  const parts = await partsOfPage(ctx, items);
  return { items: items.map((row) => summarize(row, actor.id, parts.get(row.id))), total, page, pageSize };
}

/** The instances combined into those of a page, by the instance they were combined into; DV instances are never combined. */
async function partsOfPage(ctx: RaContext, rows: readonly InstanceTable[]): Promise<Map<string, CombinedPart[]>> {
  const ids = rows.filter((r) => r.product !== 'dv').map((r) => r.id);
  const byTarget = new Map<string, CombinedPart[]>();
  if (ids.length === 0) return byTarget;
  const parts = await ctx.db.selectFrom('instances').select(['id', 'combined_into', 'domain_type', 'domain_count']).where('combined_into', 'in', ids).execute();
  for (const { combined_into, ...part } of parts) byTarget.set(combined_into ?? '', [...(byTarget.get(combined_into ?? '') ?? []), part]);
  return byTarget;
}

/**
 * Combines several pending OV/EV instances into the first one: its application
 * may then bind the sum of their names, including wildcards, which is how a
 * multi-domain wildcard or a hybrid certificate is made.
 */
export async function combineInstances(ctx: RaContext, actor: Actor, ids: string[]): Promise<InstanceTable> {
  requireRole(actor, 'subscriber', 'admin');
  if (!Array.isArray(ids) || ids.length < 2 || new Set(ids).size !== ids.length) {
    throw badRequest('COMBINE_NEEDS_TWO', 'Pick at least two different instances to combine.', 'instanceIds');
  }
  const rows: InstanceTable[] = [];
  for (const id of ids) rows.push(await loadOwnedInstance(ctx, actor, id));
  const [primary, ...rest] = rows as [InstanceTable, ...InstanceTable[]];
  for (const row of rows) {
    nextStatus(row.status, 'combine', row.product);
    if (row.product === 'dv') throw badRequest('COMBINE_DV', `Instance ${row.id} is DV; only OV and EV instances can be combined.`, 'instanceIds');
    if (row.product !== primary.product) throw badRequest('COMBINE_MIXED_PRODUCTS', 'All combined instances must have the same validation level (all OV or all EV).', 'instanceIds');
    if (row.owner_id !== primary.owner_id) throw badRequest('COMBINE_MIXED_OWNERS', 'All combined instances must belong to the same subscriber.', 'instanceIds');
  }
  const partsOfPrimary = await ctx.db.selectFrom('instances').select('id').where('combined_into', 'in', rest.map((r) => r.id)).execute();
  if (partsOfPrimary.length > 0) throw badRequest('COMBINE_NESTED', 'An instance that already holds combined instances can only be the first one picked.', 'instanceIds');
  const at = ctx.clock.now();
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('instances').set({ combined_into: primary.id, updated_at: at.toISOString() }).where('id', 'in', rest.map((r) => r.id)).execute();
  });
  for (const row of rows) {
    await recordEvent(ctx.db, { instanceId: row.id, type: 'combined', message: row === primary ? `Combined with ${rest.map((r) => r.id).join(', ')}.` : `Combined into ${primary.id}.`, at, actorId: actor.id, data: { primary: primary.id, parts: rest.map((r) => r.id) } });
  }
  return primary;
}
