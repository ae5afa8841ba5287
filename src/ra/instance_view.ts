/** The detail of one instance as its owner sees it: application, per-domain proofs, review state, certificate. */
import { ReadBack } from '../store/pipeline.js';
import { prepared } from '../store/prepared.js';
import type { ApplicationTable, CertificateTable, ValidationTable } from '../store/schema.js';
import type { CheckResult } from '../va/check_result.js';
import type { Actor } from './actor.js';
import { applicationView, listDocuments, selectApplication, type ApplicationView } from './applications.js';
import type { RaContext } from './context.js';
import { certificateView, selectCertificateOf, type CertificateView } from './issuance.js';
import { combinedParts, loadVisibleSummary, quotaWithParts, selectSummaryRow, visibleSummary, type InstanceSummary, type SummaryRow } from './instances.js';
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
  application: (Omit<ApplicationView, 'csr'> & { csr: { mode: 'auto' | 'manual'; keyAlgorithm: string | null; pem: string | null } }) | null;
  documents: Awaited<ReturnType<typeof listDocuments>>;
  validation: ValidationView[];
  review: { emailConfirmed: boolean; emailConfirmedAt: string | null; approvals: { reviewer: string; at: string }[]; approvalsRequired: number } | null;
  certificate: (InstanceSummary['certificate'] & Partial<CertificateView>) | null;
}

const selectValidations = prepared((db, instanceId: string) => db.selectFrom('validations').selectAll().where('instance_id', '=', instanceId).orderBy('domain'));

/** The detail of an instance the caller's own request just created (`createInstance`'s row): nothing is attached to it yet. */
export function createdInstanceDetail(ctx: RaContext, actor: Actor, row: SummaryRow): InstanceDetail {
  return detailOf(ctx, visibleSummary(actor, row.id, row), { parts: [], documents: [], approvals: [], validations: [] });
}

/**
 * The reads behind an instance's detail: the instance with what hangs off it,
 * read together. A step may run them with its transaction, and hold the
 * rows it already has of the application (`'application'`) and of the
 * certificate (`'certificate'`, none before issuance).
 */
export function detailReadBack(ctx: RaContext, id: string) {
  return new ReadBack(
    [selectSummaryRow.compiled(ctx.db, id), selectApplication.compiled(ctx.db, id), selectValidations.compiled(ctx.db, id), selectCertificateOf.compiled(ctx.db, id)],
    { application: 1, certificate: 3 },
  );
}

/** The detail's reads, handed to a step that ends in a transaction. */
export type DetailReadBack = ReturnType<typeof detailReadBack>;

/** `readBack`: the detail's reads, already run by the step that wrote; read now if it has no rows. */
export async function instanceDetail(ctx: RaContext, actor: Actor, id: string, readBack = detailReadBack(ctx, id)): Promise<InstanceDetail> {
  const [[row], [appRow], validations, [cert]] = await readBack.read(ctx.pipeline);
  // None of it is shown unless the actor may see the instance.
  const visible = visibleSummary(actor, id, row);
  // DV instances are never combined, take no documents and need no approvals.
  const [parts, documents, approvals] =
    visible.instance.product === 'dv' ? [[], [], []] : await Promise.all([combinedParts(ctx, visible.instance), listDocuments(ctx, id), currentApprovals(ctx, visible.instance)]);
  return detailOf(ctx, visible, { parts, appRow, documents, approvals, validations, cert });
}

function detailOf(
  ctx: RaContext,
  { instance, summary }: ReturnType<typeof visibleSummary>,
  attached: {
    parts: Awaited<ReturnType<typeof combinedParts>>;
    appRow?: ApplicationTable | undefined;
    documents: Awaited<ReturnType<typeof listDocuments>>;
    approvals: Awaited<ReturnType<typeof currentApprovals>>;
    validations: ValidationTable[];
    cert?: CertificateTable | undefined;
  },
): InstanceDetail {
  const { parts, appRow, documents, approvals, validations, cert } = attached;
  const application = appRow ? applicationView(appRow) : null;
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
