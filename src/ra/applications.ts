/**
 * The application on an instance: save (domains, contact, organization, CSR),
 * qualification documents, submit, and withdraw.
 */
import type { CompiledQuery } from 'kysely';
import { badRequest, CertdeskError, notFound } from '../errors.js';
import { randomPool } from '../random_pool.js';
import { createCsr } from '../pki/csr.js';
import { generateKeyPair, KEY_ALGORITHMS, type KeyAlgorithm } from '../pki/keys.js';
import { newId } from '../store/ids.js';
import { insertRows, prepared, updateWhere } from '../store/prepared.js';
import type { ApplicationTable, InstanceTable, ValidationTable } from '../store/schema.js';
import { dnsChallenge, fileChallenge } from '../va/challenge.js';
import type { Actor } from './actor.js';
import { checkContact, checkOrganization, type Contact, type Organization } from './applicant.js';
import { expectedIssueWindow } from './business_days.js';
import { checkCsrOnce, parseCsrOnce } from './checked_csrs.js';
import type { RaContext } from './context.js';
import { DCV_DEADLINE_DAYS } from './dcv_schedule.js';
import { checkQualificationDocument, DOCUMENT_KINDS } from './documents.js';
import type { DetailReadBack } from './instance_view.js';
import { loadOwnedInstance, ownedInstance, quotaOf, selectInstance } from './instances.js';
import { checkNames, type BoundName } from './names.js';
import { randomSecret, tokenHash } from './passwords.js';
import { issueIfReady, selectCertificateOf } from './issuance.js';
import { failOrdersOfInstance } from './acme/order_failure.js';
import { loadProfile, saveProfile } from './profiles.js';
import { nextStatus } from './state_machine.js';
import { eventInsert, recordEvent } from './timeline.js';
import { confirmationMailOf, stepMail } from './mail.js';

export type CsrInput = { mode: 'auto'; keyAlgorithm?: string } | { mode: 'manual'; pem: string };

export interface ApplicationInput {
  domains: string[] | string;
  csr: CsrInput;
  contact?: unknown;
  contactProfileId?: string;
  organization?: unknown;
  organizationProfileId?: string;
  /** Save the contact / organization as a reusable profile under this name. */
  saveContactAs?: string;
  saveOrganizationAs?: string;
}

export interface ApplicationView {
  domains: BoundName[];
  contact: Contact;
  organization: Organization | null;
  csr: { mode: 'auto' | 'manual'; keyAlgorithm: string | null; pem: string | null };
  emailConfirmedAt: string | null;
  updatedAt: string;
}

const MAX_DOCUMENTS = 20;

export function applicationView(row: ApplicationTable): ApplicationView {
  return {
    domains: JSON.parse(row.domains) as BoundName[],
    contact: JSON.parse(row.contact) as Contact,
    organization: row.organization ? (JSON.parse(row.organization) as Organization) : null,
    csr: { mode: row.csr_mode, keyAlgorithm: row.key_algorithm, pem: row.csr_pem },
    emailConfirmedAt: row.email_confirmed_at,
    updatedAt: row.updated_at,
  };
}

export async function loadApplication(ctx: RaContext, instanceId: string): Promise<ApplicationTable | undefined> {
  return (await selectApplication(ctx.db, instanceId))[0];
}

export const selectApplication = prepared((db, instanceId: string) => db.selectFrom('applications').selectAll().where('instance_id', '=', instanceId));

/** The instance the actor may change and its application, read together. */
async function loadOwnedWithApplication(ctx: RaContext, actor: Actor, instanceId: string): Promise<[InstanceTable, ApplicationTable | undefined]> {
  const [[instance], [application]] = await ctx.pipeline.reads([selectInstance.compiled(ctx.db, instanceId), selectApplication.compiled(ctx.db, instanceId)]);
  return [ownedInstance(actor, instanceId, instance), application];
}

export async function saveApplication(ctx: RaContext, actor: Actor, instanceId: string, input: ApplicationInput): Promise<ApplicationView> {
  return ctx.locks.run(instanceId, async () => {
    const [instance, previous] = await loadOwnedWithApplication(ctx, actor, instanceId);
    nextStatus(instance.status, 'edit', instance.product);
    if (typeof input !== 'object' || input === null) throw badRequest('APPLICATION_INVALID', 'Send the application as a JSON object with domains, csr and contact.');
    const names = checkNames(input.domains ?? [], await quotaOf(ctx, instance), { allowIp: ctx.settings.current().allowIpAddresses });
    if (instance.certificate_id && previous) keepNamesOfCertificate(instanceId, JSON.parse(previous.domains) as BoundName[], names);
    const contact = input.contactProfileId ? checkContact(await loadProfile(ctx, actor, input.contactProfileId, 'contact'), 'contactProfileId') : checkContact(input.contact);
    let organization: Organization | null = null;
    if (instance.product !== 'dv') {
      organization = input.organizationProfileId
        ? checkOrganization(await loadProfile(ctx, actor, input.organizationProfileId, 'organization'), 'organizationProfileId')
        : checkOrganization(input.organization);
    }
    const csr = await resolveCsr(ctx, instance, input.csr, names, previous);
    const now = ctx.clock.now().toISOString();
    const row: ApplicationTable = {
      instance_id: instanceId,
      domains: JSON.stringify(names),
      contact: JSON.stringify(contact),
      organization: organization ? JSON.stringify(organization) : null,
      csr_mode: csr.mode,
      key_algorithm: csr.keyAlgorithm,
      csr_pem: csr.pem,
      key_sealed: csr.keySealed,
      email_confirm_token_hash: previous?.email_confirm_token_hash ?? null,
      email_confirmed_at: previous?.email_confirmed_at ?? null,
      phone_verification: previous?.phone_verification ?? null,
      updated_at: now,
    };
    await ctx.pipeline.transaction([
      previous ? updateWhere(ctx.db, 'applications', row, { instance_id: instanceId }) : insertRows(ctx.db, 'applications', row),
      updateWhere(ctx.db, 'instances', { domains_text: names.map((n) => n.name).join(' '), updated_at: now }, { id: instanceId }),
      eventInsert(ctx.db, { instanceId, type: 'application_saved', message: `Application saved for ${names.map((n) => n.display).join(', ')} (CSR ${csr.mode}).`, at: ctx.clock.now(), actorId: actor.id }),
    ]);
    if (input.saveContactAs) await saveProfile(ctx, actor, { kind: 'contact', name: input.saveContactAs, data: contact });
    if (input.saveOrganizationAs && organization) await saveProfile(ctx, actor, { kind: 'organization', name: input.saveOrganizationAs, data: organization });
    return applicationView(row);
  });
}

/** An instance that holds a certificate keeps its names: a new application on it may change the key or the contact only. */
function keepNamesOfCertificate(instanceId: string, held: readonly BoundName[], wanted: readonly BoundName[]): void {
  const key = (names: readonly BoundName[]) => names.map((n) => n.name).sort().join(' ');
  if (key(held) !== key(wanted)) {
    throw new CertdeskError(
      'NAMES_LOCKED',
      `Instance ${instanceId} holds a certificate for ${held.map((n) => n.display).join(', ')}, so its names stay as they are; you may change the key, contact or organization. For other names, apply with another instance.`,
      { status: 409, field: 'domains' },
    );
  }
}

export async function resolveCsr(
  ctx: RaContext,
  instance: InstanceTable,
  input: CsrInput | undefined,
  names: BoundName[],
  previous: ApplicationTable | undefined,
): Promise<{ mode: 'auto' | 'manual'; keyAlgorithm: string | null; pem: string; keySealed: string | null }> {
  if (!input || typeof input !== 'object' || (input.mode !== 'auto' && input.mode !== 'manual')) {
    throw badRequest('CSR_MODE_INVALID', 'csr.mode must be "auto" (certdesk generates the key) or "manual" (paste your own PEM CSR).', 'csr.mode');
  }
  const nameList = names.map((n) => n.name);
  if (input.mode === 'manual') {
    if (typeof input.pem !== 'string' || input.pem.trim() === '') {
      throw badRequest('CSR_REQUIRED', 'Paste the CSR in PEM form (-----BEGIN CERTIFICATE REQUEST-----) into csr.pem.', 'csr.pem');
    }
    const pem = input.pem.trim() + '\n';
    await checkCsrOnce(pem, nameList);
    return { mode: 'manual', keyAlgorithm: null, pem, keySealed: null };
  }
  const algorithm = (input.keyAlgorithm ?? 'ecdsa-p256') as KeyAlgorithm;
  if (!KEY_ALGORITHMS.includes(algorithm)) {
    throw badRequest('KEY_ALGORITHM_INVALID', `csr.keyAlgorithm must be one of ${KEY_ALGORITHMS.join(', ')}.`, 'csr.keyAlgorithm');
  }
  const boundTo = `instance:${instance.id}`;
  // Keep the key already generated for this instance when only the names changed.
  let privateKeyPem: string;
  if (previous?.csr_mode === 'auto' && previous.key_algorithm === algorithm && previous.key_sealed) {
    privateKeyPem = ctx.vault.open(previous.key_sealed, boundTo);
  } else {
    privateKeyPem = generateKeyPair(algorithm).privateKeyPem;
  }
  return { mode: 'auto', keyAlgorithm: algorithm, pem: createCsr(privateKeyPem, nameList), keySealed: ctx.vault.seal(privateKeyPem, boundTo) };
}

export async function uploadDocument(
  ctx: RaContext,
  actor: Actor,
  instanceId: string,
  input: { kind: string; fileName: string; bytes: Buffer },
): Promise<{ id: string; kind: string; fileName: string; mime: string; size: number; createdAt: string }> {
  const instance = await loadOwnedInstance(ctx, actor, instanceId);
  if (instance.product === 'dv') throw badRequest('DOCUMENTS_NOT_NEEDED', 'DV certificates need no qualification documents; only OV and EV applications take them.');
  nextStatus(instance.status, 'edit', instance.product);
  if (!(DOCUMENT_KINDS as readonly string[]).includes(input.kind)) {
    throw badRequest('DOCUMENT_KIND_INVALID', `kind must be one of ${DOCUMENT_KINDS.join(', ')}.`, 'kind');
  }
  const { mime, size } = checkQualificationDocument({ fileName: input.fileName, bytes: input.bytes });
  const { count } = await ctx.db.selectFrom('documents').select((eb) => eb.fn.countAll<number | string>().as('count')).where('instance_id', '=', instanceId).executeTakeFirstOrThrow();
  if (Number(count) >= MAX_DOCUMENTS) throw badRequest('TOO_MANY_DOCUMENTS', `An application takes at most ${MAX_DOCUMENTS} documents; delete one first.`);
  const row = { id: newId('doc'), instance_id: instanceId, kind: input.kind, file_name: input.fileName.slice(0, 200), mime, size, content: input.bytes, created_at: ctx.clock.now().toISOString() };
  await ctx.db.insertInto('documents').values(row).execute();
  await recordEvent(ctx.db, { instanceId, type: 'document_uploaded', message: `Document uploaded: ${row.kind} (${row.file_name}, ${Math.ceil(size / 1024)} KB).`, at: ctx.clock.now(), actorId: actor.id });
  return { id: row.id, kind: row.kind, fileName: row.file_name, mime, size, createdAt: row.created_at };
}

export async function listDocuments(ctx: RaContext, instanceId: string) {
  const rows = await ctx.db.selectFrom('documents').select(['id', 'kind', 'file_name', 'mime', 'size', 'created_at']).where('instance_id', '=', instanceId).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, kind: r.kind, fileName: r.file_name, mime: r.mime, size: r.size, createdAt: r.created_at }));
}

export async function readDocument(ctx: RaContext, instanceId: string, documentId: string): Promise<{ mime: string; fileName: string; content: Buffer }> {
  const row = await ctx.db.selectFrom('documents').select(['mime', 'file_name', 'content']).where('id', '=', documentId).where('instance_id', '=', instanceId).executeTakeFirst();
  if (!row) throw notFound(`Document ${documentId}`);
  return { mime: row.mime, fileName: row.file_name, content: Buffer.from(row.content) };
}

export async function deleteDocument(ctx: RaContext, actor: Actor, instanceId: string, documentId: string): Promise<void> {
  const instance = await loadOwnedInstance(ctx, actor, instanceId);
  nextStatus(instance.status, 'edit', instance.product);
  const result = await ctx.db.deleteFrom('documents').where('id', '=', documentId).where('instance_id', '=', instanceId).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw notFound(`Document ${documentId}`);
}

const selectValidationNames = prepared((db, instanceId: string) => db.selectFrom('validations').select(['id', 'domain', 'status']).where('instance_id', '=', instanceId));

/** `readBack`: reads to run once the submission committed, with its transaction (the reply's detail). */
export async function submitApplication(ctx: RaContext, actor: Actor, instanceId: string, readBack?: DetailReadBack): Promise<void> {
  await ctx.locks.run(instanceId, async () => {
    const [[row], [application], validations] = await ctx.pipeline.reads([
      selectInstance.compiled(ctx.db, instanceId),
      selectApplication.compiled(ctx.db, instanceId),
      selectValidationNames.compiled(ctx.db, instanceId),
    ]);
    const instance = ownedInstance(actor, instanceId, row);
    const target = nextStatus(instance.status, 'submit', instance.product);
    if (!application) throw new CertdeskError('APPLICATION_REQUIRED', 'Save the application (domains, contact, CSR) before submitting it.', { status: 409 });
    const view = applicationView(application);
    if (instance.product !== 'dv') {
      if (!view.organization) throw new CertdeskError('ORGANIZATION_REQUIRED', 'OV and EV applications need the organization details; save them first.', { status: 409 });
      const docs = await listDocuments(ctx, instanceId);
      if (docs.length === 0) {
        throw new CertdeskError('DOCUMENTS_REQUIRED', 'Upload at least one qualification document (business license or the stamped authorization letter, PNG or JPEG up to 500 KB) before submitting.', { status: 409 });
      }
    }
    // A manual CSR is checked again: the names may have been edited since it was pasted.
    if (view.csr.mode === 'manual' && view.csr.pem) await checkCsrOnce(view.csr.pem, view.domains.map((d) => d.name));
    else if (view.csr.pem) parseCsrOnce(view.csr.pem);
    const now = ctx.clock.now();
    const confirmToken = instance.product === 'dv' ? null : randomSecret();
    const resetReview = confirmToken || application.email_confirm_token_hash !== null || application.email_confirmed_at !== null || application.phone_verification !== null;
    const confirmation = confirmToken ? stepMail(ctx, instanceId, confirmationMailOf(ctx, instance, view, confirmToken), 'the confirmation email', now) : null;
    // The reply's detail: the lock keeps the application and the certificate as read unless this submission changes them.
    if (!resetReview) readBack?.hold('application', [application]);
    if (instance.certificate_id === null) readBack?.hold('certificate', []);
    // Names proven in an earlier round stay proven (BR 3.2.2.4 lets a CA reuse a proof), so their records need not be
    // published again; with none left to prove, the submission issues at once, as a verification would.
    const proven = new Set(validations.filter((v) => v.status === 'valid').map((v) => v.domain));
    const nothingToProve = view.domains.every((d) => proven.has(d.name));
    await ctx.pipeline.transaction(
      [
        submissionWrite(ctx.db, instance, target, instance.submission_round + 1, now),
        // Each round starts the email confirmation and the phone check over (nothing to clear on a first DV round).
        ...(resetReview ? [reviewReset(ctx.db, instanceId, confirmToken)] : []),
        ...validationRefresh(ctx.db, instanceId, validations, view.domains, now),
        eventInsert(ctx.db, {
          instanceId,
          type: 'submitted',
          message: instance.product === 'dv' ? 'Submitted; prove control of each domain with the DNS record or the file shown.' : 'Submitted to the CA for review; confirm the email from the CA, keep your phone on, and prove control of each domain with the DNS record or the file shown.',
          at: now,
          actorId: actor.id,
          data: { round: instance.submission_round + 1 },
        }),
        ...(confirmation?.writes ?? []),
      ],
      {
        guardFirst: () => new CertdeskError('CONCURRENT_CHANGE', 'The instance changed while submitting; reload it and try again.', { status: 409 }),
        ...(readBack && !nothingToProve ? { readBack } : {}),
      },
    );
    await confirmation?.afterCommit();
    if (nothingToProve) await issueIfReady(ctx, instanceId, {}, [], readBack);
  });
}

/**
 * Moves a submitted (or reissued) instance to `target` in review round
 * `round`, with its expected issue window; only while it is still in the
 * status read, so it guards its transaction.
 */
export function submissionWrite(db: RaContext['db'], instance: InstanceTable, target: InstanceTable['status'], round: number, now: Date): CompiledQuery {
  const window = expectedIssueWindow(instance.product, now);
  return updateWhere(
    db,
    'instances',
    {
      status: target,
      submission_round: round,
      submitted_at: now.toISOString(),
      expected_issue_earliest: window.earliest.toISOString(),
      expected_issue_latest: window.latest.toISOString(),
      failure_reason: null,
      updated_at: now.toISOString(),
    },
    { id: instance.id, status: instance.status },
  );
}

/** Starts the applicant's email confirmation (with `confirmToken`, mailed to them) and the phone check over. */
export function reviewReset(db: RaContext['db'], instanceId: string, confirmToken: string | null): CompiledQuery {
  return db
    .updateTable('applications')
    .set({ email_confirm_token_hash: confirmToken ? tokenHash(confirmToken) : null, email_confirmed_at: null, phone_verification: null })
    .where('instance_id', '=', instanceId)
    .compile();
}

/**
 * The writes that keep the tokens of names still on the application (so
 * records already published keep working) and restart their checks, and give
 * new names fresh tokens. `existing`: the instance's validations, read under its lock.
 */
export function validationRefresh(db: RaContext['db'], instanceId: string, existing: Pick<ValidationTable, 'id' | 'domain'>[], names: BoundName[], now: Date): CompiledQuery[] {
  const writes: CompiledQuery[] = [];
  const wanted = new Set(names.map((n) => n.name));
  const stale = existing.filter((v) => !wanted.has(v.domain)).map((v) => v.id);
  if (stale.length > 0) writes.push(db.deleteFrom('validations').where('id', 'in', stale).compile());
  const deadline = new Date(now.getTime() + DCV_DEADLINE_DAYS * 86400_000).toISOString();
  // Only names kept from an earlier round have checks to restart.
  if (existing.length > stale.length) {
    writes.push(db.updateTable('validations').set({ attempts: 0, next_check_at: now.toISOString(), deadline }).where('instance_id', '=', instanceId).where('status', '!=', 'valid').compile());
  }
  const kept = new Set(existing.map((v) => v.domain));
  const rows = names
    .filter((n) => !kept.has(n.name))
    .map((n) => {
      const token = randomPool.take(20).toString('hex');
      const dns = n.kind === 'ip' ? null : dnsChallenge(n.name, token);
      const file = n.kind === 'wildcard' ? null : fileChallenge(n.name, token, randomPool.take(8).toString('hex'));
      return {
        id: newId('dcv'),
        instance_id: instanceId,
        domain: n.name,
        token,
        dns_name: dns?.name ?? null,
        dns_value: dns?.value ?? null,
        file_url: file?.url ?? null,
        file_content: file?.content ?? null,
        status: 'pending' as const,
        last_results: null,
        attempts: 0,
        next_check_at: now.toISOString(),
        validated_at: null,
        deadline,
      };
    });
  if (rows.length > 0) writes.push(insertRows(db, 'validations', rows));
  return writes;
}

export async function withdrawApplication(ctx: RaContext, actor: Actor, instanceId: string): Promise<void> {
  await ctx.locks.run(instanceId, async () => {
    const instance = await loadOwnedInstance(ctx, actor, instanceId);
    const withdrawn = nextStatus(instance.status, 'withdraw', instance.product);
    // Withdrawing a reissue leaves the instance with the certificate it has (revoked meanwhile, or not).
    const [held] = instance.certificate_id ? await selectCertificateOf(ctx.db, instanceId) : [];
    const target = held ? (held.revoked_at ? 'revoked' : 'issued') : withdrawn;
    const now = ctx.clock.now();
    await ctx.db
      .updateTable('instances')
      .set({ status: target, expected_issue_earliest: null, expected_issue_latest: null, failure_reason: null, updated_at: now.toISOString() })
      .where('id', '=', instanceId)
      .execute();
    await ctx.db.updateTable('applications').set({ email_confirm_token_hash: null }).where('instance_id', '=', instanceId).execute();
    // An ACME order on the instance cannot go on with its application withdrawn.
    await failOrdersOfInstance(ctx.db, instanceId);
    const message = instance.certificate_id ? 'Reissue withdrawn; the instance keeps the certificate it has.' : 'Application withdrawn; it is kept for editing and can be submitted again.';
    await recordEvent(ctx.db, { instanceId, type: 'withdrawn', message, at: now, actorId: actor.id });
  });
}
