/**
 * Reissue within the purchased term. A leaf lives at most 200 days (Baseline
 * Requirements 6.3.2), so a longer term is served by new certificates for the
 * instance's names: with a new key when certdesk holds the key (or from the
 * CSR given), while the certificate the instance has stays valid and
 * downloadable until the new one replaces it. Proofs of domain control up to
 * 398 days old are reused (BR 4.2.1); older ones start over with fresh tokens,
 * and the instance waits for them in domain_verification (DV) or under_review
 * (OV/EV), as after a submission. With nothing to prove it issues at once.
 */
import { CertdeskError } from '../errors.js';
import { prepared, updateWhere } from '../store/prepared.js';
import type { ApplicationTable, InstanceTable } from '../store/schema.js';
import type { Actor } from './actor.js';
import { applicationView, resolveCsr, selectApplication, validationRefresh, type CsrInput } from './applications.js';
import { expectedIssueWindow } from './business_days.js';
import type { RaContext } from './context.js';
import type { DetailReadBack } from './instance_view.js';
import { ownedInstance, selectInstance } from './instances.js';
import { issueIfReady, termEndOf } from './issuance.js';
import { nextStatus } from './state_machine.js';
import { eventInsert } from './timeline.js';

/** How long a proof of domain control may be reused for a new certificate (Baseline Requirements 4.2.1). */
export const PROOF_REUSE_DAYS = 398;
/** With less of the term left, a new certificate would be valid for under a day. */
const MIN_TERM_LEFT_MS = 86400_000;

const selectProofs = prepared((db, instanceId: string) => db.selectFrom('validations').select(['id', 'domain', 'status', 'validated_at']).where('instance_id', '=', instanceId));

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

/** `readBack`: the reads of the reply's detail, run by the issuance when it issues at once. */
export async function reissueCertificate(ctx: RaContext, actor: Actor, instanceId: string, input: { csr?: CsrInput } | undefined, readBack?: DetailReadBack): Promise<void> {
  await ctx.locks.run(instanceId, async () => {
    const [[row], [application], proofs] = await ctx.pipeline.reads([selectInstance.compiled(ctx.db, instanceId), selectApplication.compiled(ctx.db, instanceId), selectProofs.compiled(ctx.db, instanceId)]);
    const instance = ownedInstance(actor, instanceId, row);
    const target = nextStatus(instance.status, 'reissue', instance.product);
    if (!application) throw new Error(`issued instance ${instanceId} has no application`);
    const now = ctx.clock.now();
    refuseWithoutTerm(instance, now);
    const names = applicationView(application).domains;
    const csr = await resolveCsr(ctx, instance, input?.csr ?? sameKindOfCsr(application), names, undefined);
    const reusableSince = now.getTime() - PROOF_REUSE_DAYS * 86400_000;
    const fresh = proofs.filter((p) => p.status === 'valid' && p.validated_at !== null && Date.parse(p.validated_at) > reusableSince);
    const stale = proofs.filter((p) => !fresh.includes(p));
    const window = expectedIssueWindow(instance.product, now);
    await ctx.pipeline.transaction(
      [
        updateWhere(
          ctx.db,
          'instances',
          { status: target, submitted_at: now.toISOString(), expected_issue_earliest: window.earliest.toISOString(), expected_issue_latest: window.latest.toISOString(), failure_reason: null, updated_at: now.toISOString() },
          { id: instanceId, status: instance.status },
        ),
        updateWhere(ctx.db, 'applications', { csr_mode: csr.mode, key_algorithm: csr.keyAlgorithm, csr_pem: csr.pem, key_sealed: csr.keySealed, updated_at: now.toISOString() }, { instance_id: instanceId }),
        ...(stale.length > 0 ? [ctx.db.deleteFrom('validations').where('id', 'in', stale.map((p) => p.id)).compile()] : []),
        ...validationRefresh(ctx.db, instanceId, fresh, names, now),
        eventInsert(ctx.db, {
          instanceId,
          type: 'reissue_requested',
          message: `Reissue requested for ${names.map((n) => n.display).join(', ')} ${csr.mode === 'auto' ? 'with a new key' : 'from the CSR given'}; ${
            stale.length > 0 ? `prove control of ${stale.map((p) => p.domain).join(', ')} again (the proof is missing or older than ${PROOF_REUSE_DAYS} days)` : 'every name is still proven'
          }. The current certificate stays valid until the new one replaces it.`,
          at: now,
          actorId: actor.id,
        }),
      ],
      { guardFirst: () => new CertdeskError('CONCURRENT_CHANGE', 'The instance changed while reissuing; reload it and try again.', { status: 409 }) },
    );
    await issueIfReady(ctx, instanceId, {}, [], readBack);
  });
}
