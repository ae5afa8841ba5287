/**
 * Domain control: runs the validation authority's checks for an instance's
 * pending names, records what was found versus expected, and issues once all
 * names are proven. "Verify now" and the background schedule share this path.
 */
import type { CompiledQuery } from 'kysely';
import { CertdeskError } from '../errors.js';
import { prepared, updateWhere } from '../store/prepared.js';
import type { ValidationTable } from '../store/schema.js';
import type { CheckResult } from '../va/check_result.js';
import { checkDnsTxt } from '../va/dns_txt.js';
import { checkHttpFile } from '../va/http_file.js';
import type { Actor } from './actor.js';
import { selectApplication } from './applications.js';
import type { RaContext } from './context.js';
import { nextCheckAt } from './dcv_schedule.js';
import type { DetailReadBack } from './instance_view.js';
import { ownedInstance, selectInstance } from './instances.js';
import { failInstance, issueIfReady } from './issuance.js';
import { nextStatus } from './state_machine.js';
import { eventInsert, recordEvent } from './timeline.js';

/** Tries the DNS record first, then the file; the first method that proves control wins. */
async function checkOne(ctx: RaContext, v: ValidationTable): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  if (v.dns_name && v.dns_value) {
    const r = await checkDnsTxt(ctx.dns(), ctx.clock, { name: v.dns_name, value: v.dns_value });
    results.push(r);
    if (r.ok) return results;
  }
  if (v.file_url && v.file_content) {
    results.push(await checkHttpFile(ctx.dns(), ctx.clock, { url: v.file_url, content: v.file_content }, { port: ctx.dcvHttpPort }));
  }
  return results;
}

function summary(results: CheckResult[]): string {
  return results.map((r) => r.message).join(' ');
}

const selectPendingValidations = prepared((db, instanceId: string, valid: 'valid') => db.selectFrom('validations').selectAll().where('instance_id', '=', instanceId).where('status', '!=', valid));

/**
 * Checks every pending name of the instance once (`pending`: those names, if
 * the caller read them already) and returns how many are still not proven,
 * with the writes that record what was found, unsent: they commit with the
 * issuance the proofs may allow. Call with the instance's lock held.
 */
async function checkPending(
  ctx: RaContext,
  instanceId: string,
  trigger: 'user' | 'schedule',
  pending?: ValidationTable[],
): Promise<{ stillPending: number; writes: CompiledQuery[]; provenNow: Map<string, CheckResult['method']> }> {
  const toCheck = pending ?? (await selectPendingValidations(ctx.db, instanceId, 'valid'));
  const results = await Promise.all(toCheck.map((v) => checkOne(ctx, v)));
  const now = ctx.clock.now();
  let stillPending = 0;
  const writes: CompiledQuery[] = [];
  const provenNow = new Map<string, CheckResult['method']>();
  for (const [i, v] of toCheck.entries()) {
    const rs = results[i] ?? [];
    const method = rs.find((r) => r.ok)?.method;
    const proven = method !== undefined;
    if (method) provenNow.set(v.domain, method);
    else stillPending++;
    const attempts = v.attempts + 1;
    writes.push(
      updateWhere(
        ctx.db,
        'validations',
        {
          status: proven ? 'valid' : 'pending',
          last_results: JSON.stringify(rs),
          attempts,
          validated_at: proven ? now.toISOString() : null,
          next_check_at: proven ? null : (nextCheckAt(attempts, now, new Date(v.deadline))?.toISOString() ?? null),
        },
        { id: v.id },
      ),
    );
    const previous = v.last_results ? (JSON.parse(v.last_results) as CheckResult[]) : [];
    const changed = previous.map((r) => r.reason).join() !== rs.map((r) => r.reason).join();
    if (proven || trigger === 'user' || changed) {
      writes.push(eventInsert(ctx.db, {
        instanceId,
        type: proven ? 'dcv_record_found' : 'dcv_record_not_found',
        message: proven ? `Control of ${v.domain} proven by the ${method === 'dns' ? 'DNS TXT record' : 'validation file'}.` : `${v.domain}: ${summary(rs)}`,
        at: now,
        data: { domain: v.domain, results: rs },
      }));
    }
  }
  return { stillPending, writes, provenNow };
}

/** `readBack`: reads to run once the check's results committed, with their transaction (the reply's detail). */
export async function verifyNow(ctx: RaContext, actor: Actor, instanceId: string, readBack?: DetailReadBack): Promise<void> {
  await ctx.locks.run(instanceId, async () => {
    const [[row], pending, [application]] = await ctx.pipeline.reads([
      selectInstance.compiled(ctx.db, instanceId),
      selectPendingValidations.compiled(ctx.db, instanceId, 'valid'),
      selectApplication.compiled(ctx.db, instanceId),
    ]);
    const instance = ownedInstance(actor, instanceId, row);
    nextStatus(instance.status, 'verify', instance.product);
    const { stillPending, writes, provenNow } = await checkPending(ctx, instanceId, 'user', pending);
    // The reply's detail: the lock keeps the application and the certificate as read; an issuance holds its new certificate.
    if (application) readBack?.hold('application', [application]);
    if (instance.certificate_id === null) readBack?.hold('certificate', []);
    await issueIfReady(ctx, instanceId, { instance, namesPending: stillPending, provenNow, ...(application ? { application } : {}) }, writes, readBack);
  });
}

/**
 * One pass of the background schedule: re-checks names whose next check is
 * due, and fails applications whose deadline passed without proof.
 */
export async function runDueChecks(ctx: RaContext, limit = 100): Promise<number> {
  const now = ctx.clock.now().toISOString();
  const due = await ctx.db
    .selectFrom('validations')
    .innerJoin('instances', 'instances.id', 'validations.instance_id')
    .select('validations.instance_id')
    .distinct()
    .where('validations.status', '!=', 'valid')
    .where((eb) => eb.or([eb('validations.next_check_at', '<=', now), eb('validations.deadline', '<=', now)]))
    .where('instances.status', 'in', ['domain_verification', 'under_review'])
    .limit(limit)
    .execute();
  for (const { instance_id } of due) {
    await ctx.locks.run(instance_id, async () => {
      const instance = await ctx.db.selectFrom('instances').selectAll().where('id', '=', instance_id).executeTakeFirstOrThrow();
      if (instance.status !== 'domain_verification' && instance.status !== 'under_review') return;
      const { stillPending, writes, provenNow } = await checkPending(ctx, instance_id, 'schedule');
      if ((await issueIfReady(ctx, instance_id, { instance, namesPending: stillPending, provenNow }, writes)) !== 'waiting') return;
      const expired = await ctx.db
        .selectFrom('validations')
        .select('domain')
        .where('instance_id', '=', instance_id)
        .where('status', '!=', 'valid')
        .where('deadline', '<=', ctx.clock.now().toISOString())
        .execute();
      if (expired.length > 0) {
        await failInstance(ctx, instance, `Control of ${expired.map((e) => e.domain).join(', ')} was not proven before the deadline. Publish the DNS record or the file shown, then resubmit.`);
      }
    });
  }
  return due.length;
}

/** Lets an OV/EV applicant confirm the CA's email; the token came in the mail. */
export async function confirmEmail(ctx: RaContext, tokenHashValue: string): Promise<{ instanceId: string }> {
  const row = await ctx.db
    .selectFrom('applications')
    .innerJoin('instances', 'instances.id', 'applications.instance_id')
    .select(['applications.instance_id', 'applications.email_confirmed_at', 'instances.status', 'instances.product'])
    .where('applications.email_confirm_token_hash', '=', tokenHashValue)
    .executeTakeFirst();
  if (!row) {
    throw new CertdeskError('CONFIRMATION_INVALID', 'This confirmation link is not valid any more: the application was withdrawn or resubmitted. Use the link in the newest email from the CA.', { status: 404 });
  }
  await ctx.locks.run(row.instance_id, async () => {
    nextStatus(row.status, 'confirm_email', row.product);
    if (row.email_confirmed_at) return;
    const now = ctx.clock.now();
    await ctx.db.updateTable('applications').set({ email_confirmed_at: now.toISOString() }).where('instance_id', '=', row.instance_id).execute();
    await recordEvent(ctx.db, { instanceId: row.instance_id, type: 'email_confirmed', message: 'The applicant confirmed the verification email.', at: now });
    await issueIfReady(ctx, row.instance_id);
  });
  return { instanceId: row.instance_id };
}
