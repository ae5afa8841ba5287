/**
 * The reviewer desk for OV/EV applications: the queue, the detail a reviewer
 * reads, the phone verification record, and approve / reject. Nobody reviews
 * their own application; EV needs two different reviewers.
 */
import { badRequest, CertdeskError, forbidden, notFound } from '../errors.js';
import { newId } from '../store/ids.js';
import type { InstanceTable } from '../store/schema.js';
import { type Actor, requireRole } from './actor.js';
import { applicationView, listDocuments, loadApplication } from './applications.js';
import type { RaContext } from './context.js';
import { failInstance, issueIfReady } from './issuance.js';
import { deliver, detailsUrl } from './mail.js';
import { approvalsRequired, currentApprovals } from './review_rules.js';
import { nextStatus } from './state_machine.js';
import { recordEvent } from './timeline.js';
import { rejectedMail } from '../notify/templates.js';

export interface PhoneVerification {
  result: 'reached' | 'unreachable' | 'not_required';
  note: string;
  reviewer: string;
  at: string;
}

export interface ReviewQueueItem {
  instanceId: string;
  owner: string;
  product: 'ov' | 'ev';
  domains: string[];
  organization: string | null;
  submittedAt: string | null;
  emailConfirmed: boolean;
  domainsVerified: boolean;
  approvals: { reviewer: string; at: string }[];
  approvalsRequired: number;
  ownApplication: boolean;
}

export async function reviewQueue(ctx: RaContext, actor: Actor): Promise<ReviewQueueItem[]> {
  requireRole(actor, 'reviewer', 'admin');
  const rows = await ctx.db
    .selectFrom('instances')
    .innerJoin('users', 'users.id', 'instances.owner_id')
    .innerJoin('applications', 'applications.instance_id', 'instances.id')
    .select([
      'instances.id',
      'instances.owner_id',
      'instances.product',
      'instances.domains_text',
      'instances.submitted_at',
      'instances.submission_round',
      'users.email',
      'applications.organization',
      'applications.email_confirmed_at',
    ])
    .where('instances.status', '=', 'under_review')
    .where('instances.combined_into', 'is', null)
    .orderBy('instances.submitted_at')
    .limit(500)
    .execute();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [reviews, pendingDcv] = await Promise.all([
    ctx.db
      .selectFrom('reviews')
      .innerJoin('users', 'users.id', 'reviews.reviewer_id')
      .select(['reviews.instance_id', 'reviews.round', 'users.email', 'reviews.created_at'])
      .where('reviews.instance_id', 'in', ids)
      .where('reviews.decision', '=', 'approve')
      .execute(),
    ctx.db.selectFrom('validations').select('instance_id').distinct().where('instance_id', 'in', ids).where('status', '!=', 'valid').execute(),
  ]);
  const unproven = new Set(pendingDcv.map((p) => p.instance_id));
  return rows.map((r) => ({
    instanceId: r.id,
    owner: r.email,
    product: r.product as 'ov' | 'ev',
    domains: r.domains_text ? r.domains_text.split(' ') : [],
    organization: r.organization ? (JSON.parse(r.organization) as { name: string }).name : null,
    submittedAt: r.submitted_at,
    emailConfirmed: r.email_confirmed_at !== null,
    domainsVerified: !unproven.has(r.id),
    approvals: reviews.filter((v) => v.instance_id === r.id && v.round === r.submission_round).map((v) => ({ reviewer: v.email, at: v.created_at })),
    approvalsRequired: approvalsRequired(r.product),
    ownApplication: r.owner_id === actor.id,
  }));
}

async function loadReviewable(ctx: RaContext, actor: Actor, instanceId: string): Promise<InstanceTable> {
  requireRole(actor, 'reviewer', 'admin');
  const instance = await ctx.db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirst();
  if (!instance || instance.product === 'dv') throw notFound(`Application ${instanceId}`);
  return instance;
}

export async function reviewDetail(ctx: RaContext, actor: Actor, instanceId: string) {
  const instance = await loadReviewable(ctx, actor, instanceId);
  const app = await loadApplication(ctx, instanceId);
  const history = await ctx.db
    .selectFrom('reviews')
    .innerJoin('users', 'users.id', 'reviews.reviewer_id')
    .select(['reviews.round', 'reviews.decision', 'reviews.reason', 'reviews.created_at', 'users.email'])
    .where('reviews.instance_id', '=', instanceId)
    .orderBy('reviews.created_at')
    .execute();
  return {
    instanceId,
    status: instance.status,
    product: instance.product,
    round: instance.submission_round,
    application: app ? applicationView(app) : null,
    phoneVerification: app?.phone_verification ? (JSON.parse(app.phone_verification) as PhoneVerification) : null,
    documents: await listDocuments(ctx, instanceId),
    validation: await ctx.db.selectFrom('validations').select(['domain', 'status', 'validated_at as validatedAt']).where('instance_id', '=', instanceId).orderBy('domain').execute(),
    approvals: (await currentApprovals(ctx, instance)).map((a) => ({ reviewer: a.reviewerEmail, at: a.at })),
    approvalsRequired: approvalsRequired(instance.product),
    history: history.map((h) => ({ round: h.round, decision: h.decision, reason: h.reason, reviewer: h.email, at: h.created_at })),
    ownApplication: instance.owner_id === actor.id,
  };
}

function checkCanDecide(actor: Actor, instance: InstanceTable): void {
  nextStatus(instance.status, 'review', instance.product);
  if (instance.owner_id === actor.id) throw forbidden('You cannot review your own application; another reviewer must decide it.');
}

export async function recordPhoneVerification(ctx: RaContext, actor: Actor, instanceId: string, input: { result?: unknown; note?: unknown }): Promise<PhoneVerification> {
  const results = ['reached', 'unreachable', 'not_required'] as const;
  if (!results.includes(input.result as (typeof results)[number])) {
    throw badRequest('PHONE_RESULT_INVALID', `result must be one of ${results.join(', ')}.`, 'result');
  }
  const note = typeof input.note === 'string' ? input.note.trim().slice(0, 1000) : '';
  return ctx.locks.run(instanceId, async () => {
    const instance = await loadReviewable(ctx, actor, instanceId);
    checkCanDecide(actor, instance);
    const record: PhoneVerification = { result: input.result as PhoneVerification['result'], note, reviewer: actor.email, at: ctx.clock.now().toISOString() };
    await ctx.db.updateTable('applications').set({ phone_verification: JSON.stringify(record) }).where('instance_id', '=', instanceId).execute();
    await recordEvent(ctx.db, { instanceId, type: 'phone_verified', message: `Phone verification recorded: ${record.result}${note ? ` (${note})` : ''}.`, at: ctx.clock.now(), actorId: actor.id });
    return record;
  });
}

/** What an approved application still waits for before it is issued, in words the reviewer can pass on. */
async function stillMissing(ctx: RaContext, instanceId: string, approvalsLeft: number): Promise<string[]> {
  const [application, unproven] = await Promise.all([
    loadApplication(ctx, instanceId),
    ctx.db.selectFrom('validations').select('domain').where('instance_id', '=', instanceId).where('status', '!=', 'valid').orderBy('domain').execute(),
  ]);
  return [
    ...(approvalsLeft > 0 ? [`${approvalsLeft} more approval${approvalsLeft > 1 ? 's' : ''} from a different reviewer`] : []),
    ...(application?.email_confirmed_at ? [] : ["the applicant's confirmation of the CA's email"]),
    ...(unproven.length > 0 ? [`proof of control of ${unproven.map((v) => v.domain).join(', ')} (the DNS TXT record or the validation file)`] : []),
  ];
}

export async function approve(ctx: RaContext, actor: Actor, instanceId: string): Promise<{ approvals: number; approvalsRequired: number; issued: boolean; waitingFor: string[] }> {
  return ctx.locks.run(instanceId, async () => {
    const instance = await loadReviewable(ctx, actor, instanceId);
    checkCanDecide(actor, instance);
    const approvals = await currentApprovals(ctx, instance);
    const required = approvalsRequired(instance.product);
    if (approvals.length >= required) {
      const missing = await stillMissing(ctx, instanceId, 0);
      throw new CertdeskError('ALREADY_APPROVED', `This application already has every approval it needs (${approvals.length} of ${required})${missing.length > 0 ? `; the certificate is issued once these are in: ${missing.join('; ')}` : ''}.`, { status: 409, details: { waitingFor: missing } });
    }
    if (approvals.some((a) => a.reviewerId === actor.id)) {
      throw new CertdeskError('SAME_REVIEWER', `You already approved this application; ${instance.product.toUpperCase()} needs the next approval from a different reviewer.`, { status: 409 });
    }
    const at = ctx.clock.now();
    await ctx.db.insertInto('reviews').values({ id: newId('rev'), instance_id: instanceId, reviewer_id: actor.id, round: instance.submission_round, decision: 'approve', reason: null, created_at: at.toISOString() }).execute();
    await recordEvent(ctx.db, { instanceId, type: 'review_approved', message: `Approved by ${actor.email} (${approvals.length + 1} of ${required}).`, at, actorId: actor.id });
    const outcome = await issueIfReady(ctx, instanceId);
    const waitingFor = outcome === 'waiting' ? await stillMissing(ctx, instanceId, required - approvals.length - 1) : [];
    return { approvals: approvals.length + 1, approvalsRequired: required, issued: outcome === 'issued', waitingFor };
  });
}

/** A rejection's reason: long enough to act on, short enough to read on the subscriber's page. */
const REASON_LENGTH = { min: 3, max: 2000 };

export async function reject(ctx: RaContext, actor: Actor, instanceId: string, reason: unknown): Promise<void> {
  const text = typeof reason === 'string' ? reason.trim() : '';
  if (text.length < REASON_LENGTH.min) {
    throw badRequest('REASON_REQUIRED', `Give the reason for the rejection, at least ${REASON_LENGTH.min} characters; the subscriber sees it and fixes the application from it.`, 'reason');
  }
  if (text.length > REASON_LENGTH.max) {
    throw badRequest('REASON_TOO_LONG', `The reason is ${text.length} characters; keep it to at most ${REASON_LENGTH.max}, the subscriber reads it on the instance's page.`, 'reason');
  }
  await ctx.locks.run(instanceId, async () => {
    const instance = await loadReviewable(ctx, actor, instanceId);
    checkCanDecide(actor, instance);
    const at = ctx.clock.now();
    await ctx.db.insertInto('reviews').values({ id: newId('rev'), instance_id: instanceId, reviewer_id: actor.id, round: instance.submission_round, decision: 'reject', reason: text, created_at: at.toISOString() }).execute();
    await recordEvent(ctx.db, { instanceId, type: 'review_rejected', message: `Rejected by ${actor.email}: ${text}`, at, actorId: actor.id });
    await failInstance(ctx, instance, text, actor.id);
    const app = await loadApplication(ctx, instanceId);
    if (app) {
      const view = applicationView(app);
      await deliver(ctx, instanceId, rejectedMail({ applicantName: view.contact.name, to: view.contact.email, instanceId, reason: text, domains: view.domains.map((d) => d.display), detailsUrl: detailsUrl(ctx, instanceId) }), 'the rejection notice');
    }
  });
}
