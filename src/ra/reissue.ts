/**
 * Reissue within the purchased term. A leaf lives at most 200 days (Baseline
 * Requirements 6.3.2), so a longer term is served by new certificates for the
 * instance's names: with a new key when certdesk holds the key (or from the
 * CSR given), while the certificate the instance has stays valid, revocable
 * and downloadable until the new one replaces it. What was verified is reused
 * as long as BR 4.2.1 allows: proofs of domain control for 398 days (older
 * ones start over with fresh tokens), an OV/EV organization's review for 825
 * days (older, the review starts a new round, with a new confirmation email).
 * The instance then waits in domain_verification (DV) or under_review (OV/EV),
 * as after a submission, and issues at once when nothing is left to verify.
 * Certificates issued through ACME are renewed by the ACME client.
 */
import type { CompiledQuery } from 'kysely';
import { CertdeskError } from '../errors.js';
import { prepared, updateWhere } from '../store/prepared.js';
import type { ApplicationTable, InstanceTable } from '../store/schema.js';
import type { Actor } from './actor.js';
import { applicationView, resolveCsr, reviewReset, selectApplication, submissionWrite, validationRefresh, type CsrInput } from './applications.js';
import type { RaContext } from './context.js';
import type { DetailReadBack } from './instance_view.js';
import { ownedInstance, quotaOf, selectInstance } from './instances.js';
import { issueIfReady, termEndOf } from './issuance.js';
import { confirmationMailOf, stepMail } from './mail.js';
import { checkNames } from './names.js';
import { randomSecret } from './passwords.js';
import { currentApprovals } from './review_rules.js';
import { nextStatus } from './state_machine.js';
import { eventInsert } from './timeline.js';

const DAY_MS = 86400_000;
/** How long a proof of domain control may be reused for a new certificate (Baseline Requirements 4.2.1). */
export const PROOF_REUSE_DAYS = 398;
/** How long an organization's verification may be reused (Baseline Requirements 4.2.1). */
export const VETTING_REUSE_DAYS = 825;
/** With less of the term left, a new certificate would be valid for under a day. */
const MIN_TERM_LEFT_MS = DAY_MS;

const selectProofs = prepared((db, instanceId: string) => db.selectFrom('validations').select(['id', 'domain', 'status', 'validated_at']).where('instance_id', '=', instanceId));
const selectAcmeOrderOf = prepared((db, certificateId: string) => db.selectFrom('acme_orders').select('id').where('certificate_id', '=', certificateId));

/** The CSR a reissue uses when none is given: a new key of the same algorithm, or the CSR pasted before. */
function sameKindOfCsr(application: ApplicationTable): CsrInput {
  return application.csr_mode === 'auto' ? { mode: 'auto', keyAlgorithm: application.key_algorithm ?? 'ecdsa-p256' } : { mode: 'manual', pem: application.csr_pem ?? '' };
}

function refuseWithoutTerm(instance: InstanceTable, now: Date): void {
  const termEnd = termEndOf(instance);
  if (termEnd.getTime() - now.getTime() < MIN_TERM_LEFT_MS) {
    throw new CertdeskError('TERM_ENDED', `The purchased term of instance ${instance.id} ends ${termEnd.toISOString()}, so no certificate is left to reissue within it; buy a new instance for a new certificate.`, {
      status: 409,
      details: { termEnd: termEnd.toISOString() },
    });
  }
}

async function refuseAcmeIssued(ctx: RaContext, instance: InstanceTable): Promise<void> {
  if (instance.certificate_id && (await selectAcmeOrderOf(ctx.db, instance.certificate_id)).length > 0) {
    throw new CertdeskError('REISSUE_THROUGH_ACME', 'This certificate was issued through ACME; renew it with your ACME client (for example certbot renew or lego renew), which proves control and sends its key.', { status: 409 });
  }
}

/** For an OV/EV instance whose organization was last approved more than 825 days ago: a new review round, with its confirmation email. */
async function newReviewRound(ctx: RaContext, instance: InstanceTable, application: ApplicationTable, now: Date): Promise<{ writes: CompiledQuery[]; afterCommit(): Promise<void> } | null> {
  if (instance.product === 'dv') return null;
  const approvedAt = Math.max(0, ...(await currentApprovals(ctx, instance)).map((a) => Date.parse(a.at)));
  if (approvedAt > now.getTime() - VETTING_REUSE_DAYS * DAY_MS) return null;
  const token = randomSecret();
  const mail = stepMail(ctx, instance.id, confirmationMailOf(ctx, instance, applicationView(application), token), 'the confirmation email', now);
  return { writes: [reviewReset(ctx.db, instance.id, token), ...mail.writes], afterCommit: mail.afterCommit };
}

/** `readBack`: the reads of the reply's detail, run by the issuance when it issues at once. */
export async function reissueCertificate(ctx: RaContext, actor: Actor, instanceId: string, input: { csr?: CsrInput } | undefined, readBack?: DetailReadBack): Promise<void> {
  await ctx.locks.run(instanceId, async () => {
    const [[row], [application], proofs] = await ctx.pipeline.reads([selectInstance.compiled(ctx.db, instanceId), selectApplication.compiled(ctx.db, instanceId), selectProofs.compiled(ctx.db, instanceId)]);
    const instance = ownedInstance(actor, instanceId, row);
    const target = nextStatus(instance.status, 'reissue', instance.product);
    if (!application) throw new Error(`issued instance ${instanceId} has no application`);
    const now = ctx.clock.now();
    refuseWithoutTerm(instance, now);
    await refuseAcmeIssued(ctx, instance);
    // The names are checked again against today's policy (an operator may have turned IP addresses off since).
    const names = checkNames(applicationView(application).domains.map((d) => d.name), await quotaOf(ctx, instance), { allowIp: ctx.settings.current().allowIpAddresses });
    const csr = await resolveCsr(ctx, instance, input?.csr ?? sameKindOfCsr(application), names, undefined);
    const reusableSince = now.getTime() - PROOF_REUSE_DAYS * DAY_MS;
    const fresh = proofs.filter((p) => p.status === 'valid' && p.validated_at !== null && Date.parse(p.validated_at) > reusableSince);
    const toProve = names.filter((n) => !fresh.some((p) => p.domain === n.name)).map((n) => n.display);
    const review = await newReviewRound(ctx, instance, application, now);
    const keyNote = csr.mode === 'auto' ? 'with a new key' : input?.csr ? 'from the CSR given' : 'from the CSR on the application';
    await ctx.pipeline.transaction(
      [
        submissionWrite(ctx.db, instance, target, instance.submission_round + (review ? 1 : 0), now),
        updateWhere(ctx.db, 'applications', { csr_mode: csr.mode, key_algorithm: csr.keyAlgorithm, csr_pem: csr.pem, key_sealed: csr.keySealed, updated_at: now.toISOString() }, { instance_id: instanceId }),
        ...(review?.writes ?? []),
        ...(fresh.length < proofs.length ? [ctx.db.deleteFrom('validations').where('id', 'in', proofs.filter((p) => !fresh.includes(p)).map((p) => p.id)).compile()] : []),
        ...validationRefresh(ctx.db, instanceId, fresh, names, now),
        eventInsert(ctx.db, {
          instanceId,
          type: 'reissue_requested',
          message: [
            `Reissue requested for ${names.map((n) => n.display).join(', ')} ${keyNote}.`,
            toProve.length > 0 ? `Prove control of ${toProve.join(', ')} again: the proof is missing or older than ${PROOF_REUSE_DAYS} days.` : 'Every name is still proven.',
            review ? `The organization was verified more than ${VETTING_REUSE_DAYS} days ago, so the CA reviews it again; confirm the email from the CA.` : '',
            'The current certificate stays valid until the new one replaces it.',
          ]
            .filter(Boolean)
            .join(' '),
          at: now,
          actorId: actor.id,
        }),
      ],
      { guardFirst: () => new CertdeskError('CONCURRENT_CHANGE', 'The instance changed while reissuing; reload it and try again.', { status: 409 }) },
    );
    await review?.afterCommit();
    await issueIfReady(ctx, instanceId, {}, [], readBack);
  });
}
