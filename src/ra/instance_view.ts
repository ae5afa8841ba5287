/** The detail of one instance as its owner sees it: application, per-domain proofs, review state, certificate. */
import type { InstanceTable } from '../store/schema.js';
import type { CheckResult } from '../va/check_result.js';
import type { Actor } from './actor.js';
import { applicationView, listDocuments, loadApplication, type ApplicationView } from './applications.js';
import type { RaContext } from './context.js';
import { certificateView, type CertificateView } from './issuance.js';
import { combinedParts, loadVisibleSummary, quotaWithParts, type InstanceSummary } from './instances.js';
import type { NameQuota } from './names.js';
import { approvalsRequired, currentApprovals } from './review_rules.js';
import { listEvents, type TimelineEvent } from './timeline.js';

export interface ValidationView {
  domain: string;
  status: 'pending' | 'valid' | 'invalid';
  dns: { name: string; type: 'TXT'; value: string } | null;
  file: { url: string; content: string } | null;
  lastResults: CheckResult[];
  attempts: number;
  nextCheckAt: string | null;
  validatedAt: string | null;
  deadline: string;
}

export interface InstanceDetail extends InstanceSummary {
  quota: NameQuota;
  combinedFrom: string[];
  application: (Omit<ApplicationView, 'csr'> & { csr: { mode: 'auto' | 'manual'; keyAlgorithm: string | null; pem: string | null } }) | null;
  documents: Awaited<ReturnType<typeof listDocuments>>;
  validation: ValidationView[];
  review: { emailConfirmed: boolean; emailConfirmedAt: string | null; approvals: { reviewer: string; at: string }[]; approvalsRequired: number } | null;
  certificate: (InstanceSummary['certificate'] & Partial<CertificateView>) | null;
}

/** What hangs off an instance row: combined parts, application, documents, proofs, certificate. */
async function attachments(ctx: RaContext, instance: InstanceTable) {
  return Promise.all([
    combinedParts(ctx, instance),
    loadApplication(ctx, instance.id),
    // DV applications take no documents (see uploadDocument).
    instance.product === 'dv' ? [] : listDocuments(ctx, instance.id),
    ctx.db.selectFrom('validations').selectAll().where('instance_id', '=', instance.id).orderBy('domain').execute(),
    instance.certificate_id ? ctx.db.selectFrom('certificates').selectAll().where('id', '=', instance.certificate_id).executeTakeFirst() : Promise.resolve(undefined),
  ]);
}

/** Attachments of an instance created in this very request: it has none yet, and reading them would only cost queries. */
const NO_ATTACHMENTS: Awaited<ReturnType<typeof attachments>> = [[], undefined, [], [], undefined];

/** `justCreated`: the instance was created by the caller's own request, so nothing is attached to it yet. */
export async function instanceDetail(ctx: RaContext, actor: Actor, id: string, options: { justCreated?: boolean } = {}): Promise<InstanceDetail> {
  const { instance, summary } = await loadVisibleSummary(ctx, actor, id);
  const [parts, appRow, documents, validations, cert] = options.justCreated ? NO_ATTACHMENTS : await attachments(ctx, instance);
  const application = appRow ? applicationView(appRow) : null;
  const approvals = instance.product === 'dv' || options.justCreated ? [] : await currentApprovals(ctx, instance);
  return {
    ...summary,
    quota: quotaWithParts(instance, parts),
    combinedFrom: parts.map((p) => p.id),
    application,
    documents,
    validation: validations.map((v) => ({
      domain: v.domain,
      status: v.status,
      dns: v.dns_name && v.dns_value ? { name: v.dns_name, type: 'TXT' as const, value: v.dns_value } : null,
      file: v.file_url && v.file_content ? { url: v.file_url, content: v.file_content } : null,
      lastResults: v.last_results ? (JSON.parse(v.last_results) as CheckResult[]) : [],
      attempts: v.attempts,
      nextCheckAt: v.next_check_at,
      validatedAt: v.validated_at,
      deadline: v.deadline,
    })),
    review:
      instance.product === 'dv'
        ? null
        : {
            emailConfirmed: appRow?.email_confirmed_at != null,
            emailConfirmedAt: appRow?.email_confirmed_at ?? null,
            approvals: approvals.map((a) => ({ reviewer: a.reviewerEmail, at: a.at })),
            approvalsRequired: approvalsRequired(instance.product),
          },
    certificate: cert ? { ...certificateView(ctx, cert), id: cert.id, serial: cert.serial, notBefore: cert.not_before, notAfter: cert.not_after } : null,
  };
}

export async function instanceProgress(ctx: RaContext, actor: Actor, id: string): Promise<{ status: string; expectedIssueDate: InstanceSummary['expectedIssueDate']; failureReason: string | null; events: TimelineEvent[] }> {
  const [{ summary }, events] = await Promise.all([loadVisibleSummary(ctx, actor, id), listEvents(ctx.db, id)]);
  return { status: summary.status, expectedIssueDate: summary.expectedIssueDate, failureReason: summary.failureReason, events };
}
