/**
 * Issuance: once every condition of the product holds (domain control proven;
 * for OV/EV also the applicant's email confirmation and the reviewers'
 * approvals), CAA is checked and the CA signs. Also the certificate's view,
 * its download packages and its revocation.
 */
import { X509Certificate } from 'node:crypto';
import type { CompiledQuery } from 'kysely';
import { buildServerBundle, bundleBaseName, describeServerBundle, SERVER_TYPES, type ServerType } from '../bundle/server_bundle.js';
import { badRequest, CertdeskError, forbidden, notFound } from '../errors.js';
import type { LeafParams } from '../pki/certificate.js';
import { REVOCATION_REASON_CODES, type RevocationReason } from '../pki/crl.js';
import { newId } from '../store/ids.js';
import type { TransactionOptions } from '../store/pipeline.js';
import { insertRows, prepared, updateWhere } from '../store/prepared.js';
import type { ApplicationTable, CertificateTable, InstanceTable } from '../store/schema.js';
import { checkCaa, DCV_METHOD_LABELS } from '../va/caa.js';
import type { CheckResult } from '../va/check_result.js';
import { type Actor, canActOn } from './actor.js';
import type { Organization } from './applicant.js';
import { applicationView, loadApplication } from './applications.js';
import { parseCsrOnce } from './checked_csrs.js';
import type { RaContext } from './context.js';
import type { DetailReadBack } from './instance_view.js';
import { selectInstance } from './instances.js';
import type { BoundName } from './names.js';
import { approvalsRequired, currentApprovals } from './review_rules.js';
import { nextStatus } from './state_machine.js';
import { eventInsert } from './timeline.js';
import { detailsUrl, stepMail } from './mail.js';
import { issuedMail } from '../notify/templates.js';

const BUSINESS_CATEGORY: Record<Organization['type'], string> = {
  private: 'Private Organization',
  business: 'Business Entity',
  government: 'Government Entity',
  non_commercial: 'Non-Commercial Entity',
};

/** Moves the instance to `validation_failed` with a cause the subscriber can act on. */
export async function failInstance(ctx: RaContext, instance: InstanceTable, reason: string, actorId: string | null = null): Promise<void> {
  await ctx.pipeline.transaction(failWrites(ctx, instance, reason, actorId));
}

/** The writes of `failInstance`, unsent. */
function failWrites(ctx: RaContext, instance: InstanceTable, reason: string, actorId: string | null = null): CompiledQuery[] {
  const target = nextStatus(instance.status, 'fail', instance.product);
  const now = ctx.clock.now();
  return [
    ctx.db
      .updateTable('instances')
      .set({ status: target, failure_reason: reason, expected_issue_earliest: null, expected_issue_latest: null, updated_at: now.toISOString() })
      .where('id', '=', instance.id)
      .where('status', '=', instance.status)
      .compile(),
    eventInsert(ctx.db, { instanceId: instance.id, type: 'validation_failed', message: `Validation failed: ${reason}`, at: now, actorId }),
  ];
}

/** What a caller of issueIfReady already knows, so it is not read or asked again. */
export interface KnownBeforeIssuance {
  /** The instance and how many of its names are unproven, just read under the instance's lock. */
  instance?: InstanceTable;
  namesPending?: number;
  /** When CAA last allowed every name of the application (an ACME order asks at newOrder). */
  caaAllowedAt?: Date;
  /** The application, read under the instance's lock. */
  application?: ApplicationTable;
  /** Who asks and how the names were proven, for CAA (an ACME order's account and challenges); the REST API's by default. */
  caaRequester?: CaaRequester;
  /** Names the calling step has just proven, by method; its writes recording them are not sent yet. */
  provenNow?: ReadonlyMap<string, CheckResult['method']>;
}

/** Who asks for the certificate and how each name was proven, as CAA's accounturi and validationmethods parameters (RFC 8657) need them. */
export interface CaaRequester {
  /** The ACME account's URL; none for the REST API and the console. */
  accountUri?: string;
  methodsOf(name: string): readonly string[];
}

const selectProofs = prepared((db, instanceId: string) => db.selectFrom('validations').select(['domain', 'last_results']).where('instance_id', '=', instanceId));

/** The REST API's and the console's requester: no ACME account, and for each name the method that proved it, now or as its validation recorded. */
async function restRequester(ctx: RaContext, instanceId: string, provenNow: ReadonlyMap<string, CheckResult['method']> = new Map()): Promise<CaaRequester> {
  const proofs = await selectProofs(ctx.db, instanceId);
  const provenBy = new Map(proofs.map((p) => [p.domain, (JSON.parse(p.last_results ?? '[]') as CheckResult[]).find((r) => r.ok)?.method]));
  return {
    methodsOf(name) {
      const method = provenNow.get(name) ?? provenBy.get(name);
      return method === 'dns' || method === 'http' ? [DCV_METHOD_LABELS[method]] : [];
    },
  };
}

/**
 * CAA allowed moments before (at an ACME newOrder) is not asked again within
 * this window; the Baseline Requirements (3.2.2.8) accept a check made up to
 * 8 hours before issuance, and Boulder (Let's Encrypt) rechecks only past 7.
 */
const CAA_REUSE_MS = 7 * 3600_000;

/** Issued; refused at the last checks (CAA, the CA), which failed the instance; or still waiting for a condition. */
export type IssuanceOutcome = 'issued' | 'failed' | 'waiting';

/**
 * Issues the certificate if everything the product needs is in place. Call
 * with the instance's lock held. `stepWrites` are the calling step's own
 * writes (the proofs of a verification): they commit in the issuance's
 * transaction, or before anything else is written when there is no issuance.
 */
export async function issueIfReady(ctx: RaContext, instanceId: string, known: KnownBeforeIssuance = {}, stepWrites: CompiledQuery[] = [], readBack?: DetailReadBack): Promise<IssuanceOutcome> {
  const ending = endingWith(readBack);
  const ready = await readyToSign(ctx, instanceId, known);
  if (!ready) {
    if (stepWrites.length > 0) await ctx.pipeline.transaction(stepWrites, ending);
    return 'waiting';
  }
  const { instance, row, application } = ready;
  const caaFresh = known.caaAllowedAt !== undefined && ctx.clock.now().getTime() - known.caaAllowedAt.getTime() < CAA_REUSE_MS;
  const caaProblem = caaFresh ? null : await firstCaaProblem(ctx, application.domains, known.caaRequester ?? (await restRequester(ctx, instanceId, known.provenNow)));
  if (caaProblem) {
    await ctx.pipeline.transaction([
      ...stepWrites,
      eventInsert(ctx.db, { instanceId, type: 'caa_forbidden', message: caaProblem, at: ctx.clock.now() }),
      ...failWrites(ctx, instance, caaProblem),
    ], ending);
    return 'failed';
  }
  return sign(ctx, instance, row.key_sealed, application, stepWrites, readBack);
}

/** When the purchased term ends: no certificate of the instance outlives it. */
export function termEndOf(instance: Pick<InstanceTable, 'created_at' | 'term_months'>): Date {
  const end = new Date(instance.created_at);
  end.setUTCMonth(end.getUTCMonth() + instance.term_months);
  return end;
}

/** Whichever transaction ends the step also runs the reads its reply needs. */
function endingWith(readBack: DetailReadBack | undefined): TransactionOptions {
  return readBack ? { readBack } : {};
}

const selectUnprovenName = prepared((db, instanceId: string, valid: 'valid') => db.selectFrom('validations').select('id').where('instance_id', '=', instanceId).where('status', '!=', valid));

/** The instance and its application when every condition but CAA holds; null while one is missing. */
async function readyToSign(
  ctx: RaContext,
  instanceId: string,
  known: KnownBeforeIssuance,
): Promise<{ instance: InstanceTable; row: ApplicationTable; application: ReturnType<typeof applicationView> } | null> {
  const instance = known.instance ?? (await selectInstance(ctx.db, instanceId))[0];
  if (!instance) throw new Error(`instance ${instanceId} is to be issued but does not exist`);
  if (instance.status !== 'domain_verification' && instance.status !== 'under_review') return null;
  const pending = known.namesPending !== undefined ? known.namesPending > 0 : (await selectUnprovenName(ctx.db, instanceId, 'valid')).length > 0;
  if (pending) return null;
  const row = known.application ?? (await loadApplication(ctx, instanceId));
  // An ACME order's CSR arrives only with finalize.
  if (!row || !row.csr_pem) return null;
  const application = applicationView(row);
  if (instance.product !== 'dv') {
    if (!application.emailConfirmedAt) return null;
    const approvals = await currentApprovals(ctx, instance);
    if (approvals.length < approvalsRequired(instance.product)) return null;
  }
  return { instance, row, application };
}

/** Asks CAA about every name at once; the first name (in order) that CAA forbids is reported. */
async function firstCaaProblem(ctx: RaContext, names: BoundName[], requester: CaaRequester): Promise<string | null> {
  const identities = ctx.settings.current().caaIdentities;
  const domains = names.filter((name) => name.kind !== 'ip');
  const results = await Promise.all(
    domains.map((name) => checkCaa(ctx.dns(), name.name, { identities, wildcard: name.kind === 'wildcard', methods: requester.methodsOf(name.name), ...(requester.accountUri ? { accountUri: requester.accountUri } : {}) })),
  );
  for (const [i, result] of results.entries()) {
    const name = domains[i] as BoundName;
    // The reason says what to change in DNS; the caller says how to try again (resubmit, or a new ACME order).
    if (!result.allowed) return `CAA check for ${name.display} refused issuance: ${result.reason}`;
  }
  return null;
}

async function sign(
  ctx: RaContext,
  instance: InstanceTable,
  keySealed: string | null,
  application: ReturnType<typeof applicationView>,
  stepWrites: CompiledQuery[],
  readBack: DetailReadBack | undefined,
): Promise<IssuanceOutcome> {
  const ending = endingWith(readBack);
  const now = ctx.clock.now();
  const termEnd = termEndOf(instance);
  const org = application.organization;
  const organization: LeafParams['organization'] | undefined = org
    ? {
        name: org.name,
        locality: org.city,
        state: org.state,
        country: org.country,
        ...(instance.product === 'ev' ? { registrationNumber: org.registrationNumber, businessCategory: BUSINESS_CATEGORY[org.type], jurisdictionCountry: org.country } : {}),
      }
    : undefined;
  const refuse = async (reason: string): Promise<IssuanceOutcome> => {
    await ctx.pipeline.transaction([
      ...stepWrites,
      eventInsert(ctx.db, { instanceId: instance.id, type: 'issuance_failed', message: `Issuance failed: ${reason}`, at: now }),
      ...failWrites(ctx, instance, `Issuance failed: ${reason}`),
    ], ending);
    return 'failed';
  };
  // A reissue whose last proof came in after the term ended has no term left to issue into.
  if (termEnd <= now) return refuse(`the purchased term of instance ${instance.id} ended ${termEnd.toISOString()}; buy a new instance for a new certificate.`);
  let issued;
  try {
    issued = ctx.ca.issue({
      level: instance.product,
      dnsNames: application.domains.filter((d) => d.kind !== 'ip').map((d) => d.name),
      ipAddresses: application.domains.filter((d) => d.kind === 'ip').map((d) => d.name),
      subjectPublicKeyDer: parseCsrOnce(application.csr.pem ?? '').spkiDer,
      notAfterLimit: termEnd,
      ...(organization ? { organization } : {}),
    });
  } catch (err) {
    ctx.logger.error({ instanceId: instance.id, err: err instanceof Error ? err.message : String(err) }, 'issuance failed');
    return refuse(err instanceof CertdeskError ? err.message : 'the certificate authority could not sign the certificate');
  }
  const d = issued.description;
  const cert: CertificateTable = {
    id: newId('cert'),
    instance_id: instance.id,
    owner_id: instance.owner_id,
    serial: issued.serial,
    common_name: d.dnsNames[0] ?? d.ipAddresses[0] ?? '',
    names: JSON.stringify([...d.dnsNames, ...d.ipAddresses]),
    not_before: d.notBefore.toISOString(),
    not_after: d.notAfter.toISOString(),
    issuer: d.issuer,
    key_algorithm: d.keyAlgorithm,
    signature_algorithm: d.signatureAlgorithm,
    sha1: d.fingerprints.sha1,
    sha256: d.fingerprints.sha256,
    pem: issued.pem,
    chain_pem: ctx.ca.intermediatePem,
    key_sealed: keySealed,
    revoked_at: null,
    revocation_reason: null,
    created_at: now.toISOString(),
  };
  const target = nextStatus(instance.status, 'issue', instance.product);
  const mail = issuedMail({
    applicantName: application.contact.name,
    to: application.contact.email,
    domains: application.domains.map((d) => d.display),
    instanceId: instance.id,
    notAfter: d.notAfter,
    detailsUrl: detailsUrl(ctx, instance.id),
  });
  const notice = stepMail(ctx, instance.id, mail, 'the issuance notice', now);
  readBack?.hold('certificate', [cert]);
  await ctx.pipeline.transaction([
    ...stepWrites,
    insertRows(ctx.db, 'certificates', cert),
    updateWhere(ctx.db, 'instances', { status: target, certificate_id: cert.id, failure_reason: null, updated_at: now.toISOString() }, { id: instance.id }),
    eventInsert(ctx.db, { instanceId: instance.id, type: 'issued', message: `Certificate issued: serial ${cert.serial}, valid until ${cert.not_after}.`, at: now, data: { certificateId: cert.id, serial: cert.serial } }),
    ...notice.writes,
  ], ending);
  await notice.afterCommit();
  return 'issued';
}

export interface CertificateView {
  id: string;
  instanceId: string;
  serial: string;
  commonName: string;
  names: string[];
  notBefore: string;
  notAfter: string;
  issuer: string;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  fingerprints: { sha1: string; sha256: string };
  status: 'valid' | 'revoked' | 'expired';
  revokedAt: string | null;
  revocationReason: string | null;
  privateKeyIncluded: boolean;
  pem: string;
  chainPem: string;
  downloads: { server: ServerType; files: { name: string; description: string }[] }[];
}

export function certificateView(ctx: RaContext, row: CertificateTable): CertificateView {
  const now = ctx.clock.now().toISOString();
  const hasKey = row.key_sealed !== null;
  return {
    id: row.id,
    instanceId: row.instance_id,
    serial: row.serial,
    commonName: row.common_name,
    names: JSON.parse(row.names) as string[],
    notBefore: row.not_before,
    notAfter: row.not_after,
    issuer: row.issuer,
    keyAlgorithm: row.key_algorithm,
    signatureAlgorithm: row.signature_algorithm,
    fingerprints: { sha1: row.sha1, sha256: row.sha256 },
    status: row.revoked_at ? 'revoked' : row.not_after < now ? 'expired' : 'valid',
    revokedAt: row.revoked_at,
    revocationReason: row.revocation_reason,
    privateKeyIncluded: hasKey,
    pem: row.pem,
    chainPem: row.chain_pem,
    downloads: SERVER_TYPES.map((server) => ({ server, files: describeServerBundle(server, hasKey, bundleBaseName(row.common_name)) })),
  };
}

async function loadCertificateFor(ctx: RaContext, actor: Actor, id: string): Promise<CertificateTable> {
  const row = await ctx.db.selectFrom('certificates').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !canActOn(actor, row.owner_id)) throw notFound(`Certificate ${id}`);
  return row;
}

export async function getCertificate(ctx: RaContext, actor: Actor, id: string): Promise<CertificateView> {
  return certificateView(ctx, await loadCertificateFor(ctx, actor, id));
}

export async function listCertificates(ctx: RaContext, actor: Actor): Promise<CertificateView[]> {
  let q = ctx.db.selectFrom('certificates').selectAll();
  if (actor.role !== 'admin') q = q.where('owner_id', '=', actor.id);
  const rows = await q.orderBy('created_at', 'desc').limit(500).execute();
  return rows.map((r) => certificateView(ctx, r));
}

/** The current certificate of an instance (none before issuance). */
export const selectCertificateOf = prepared((db, instanceId: string) =>
  db
    .selectFrom('certificates')
    .selectAll()
    .where('id', '=', (eb) => eb.selectFrom('instances').select('certificate_id').where('instances.id', '=', instanceId)),
);

/** The zip for one server type. Only the owner downloads: the zip may hold the private key. */
export async function downloadBundle(ctx: RaContext, actor: Actor, instanceId: string, server: string): Promise<{ fileName: string; zip: Buffer }> {
  if (!SERVER_TYPES.includes(server as ServerType)) {
    throw badRequest('SERVER_TYPE_INVALID', `server must be one of ${SERVER_TYPES.join(', ')}.`, 'server');
  }
  const [[instance], [cert]] = await ctx.pipeline.reads([selectInstance.compiled(ctx.db, instanceId), selectCertificateOf.compiled(ctx.db, instanceId)]);
  if (!instance || !canActOn(actor, instance.owner_id)) throw notFound(`Instance ${instanceId}`);
  if (actor.id !== instance.owner_id) throw forbidden('Only the subscriber who owns the certificate can download it, because the package can contain the private key.');
  nextStatus(instance.status, 'download', instance.product);
  if (!cert) throw new CertdeskError('INVALID_STATE', `The certificate can be downloaded once it is issued. The instance is ${instance.status}.`, { status: 409, details: { status: instance.status, action: 'download' } });
  const base = bundleBaseName(cert.common_name);
  const bundle = buildServerBundle({
    server: server as ServerType,
    baseName: base,
    leafPem: cert.pem,
    chainPems: [cert.chain_pem],
    ...(cert.key_sealed ? { privateKeyPem: ctx.vault.open(cert.key_sealed, `instance:${instance.id}`) } : {}),
    now: ctx.clock.now(),
  });
  return { fileName: `${base}_${server}.zip`, zip: bundle.zip };
}

const SUBSCRIBER_REASONS: readonly RevocationReason[] = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'];

export async function revokeCertificate(ctx: RaContext, actor: Actor, certificateId: string, reason: unknown): Promise<CertificateView> {
  const r = (reason ?? 'unspecified') as RevocationReason;
  const allowed = actor.role === 'admin' ? (Object.keys(REVOCATION_REASON_CODES) as RevocationReason[]) : SUBSCRIBER_REASONS;
  if (!allowed.includes(r)) {
    throw badRequest('REVOCATION_REASON_INVALID', `reason must be one of ${allowed.join(', ')}.`, 'reason');
  }
  const cert = await loadCertificateFor(ctx, actor, certificateId);
  return ctx.locks.run(cert.instance_id, async () => {
    const instance = await ctx.db.selectFrom('instances').selectAll().where('id', '=', cert.instance_id).executeTakeFirstOrThrow();
    if (cert.revoked_at) throw new CertdeskError('ALREADY_REVOKED', `Certificate ${cert.serial} was already revoked at ${cert.revoked_at}.`, { status: 409 });
    // The instance follows the certificate it holds while issued. A certificate a reissue replaced, or the one the
    // instance holds while a reissue is under way, is revoked without moving the instance.
    const target = instance.certificate_id === cert.id ? nextStatus(instance.status, 'revoke', instance.product) : instance.status;
    const along = await revokedAlong(ctx, cert, r, target === 'revoked' && instance.status !== 'revoked');
    const now = ctx.clock.now().toISOString();
    await ctx.pipeline.transaction([
      ...[{ id: cert.id, reason: r }, ...along].map((c) => ctx.db.updateTable('certificates').set({ revoked_at: now, revocation_reason: c.reason }).where('id', '=', c.id).compile()),
      ctx.db.updateTable('instances').set({ status: target, updated_at: now }).where('id', '=', instance.id).compile(),
      eventInsert(ctx.db, {
        instanceId: instance.id,
        type: 'revoked',
        message: `Certificate ${cert.serial} revoked (${r}).${along.map((c) => ` Certificate ${c.serial} revoked with it (${c.reason}).`).join('')}`,
        at: ctx.clock.now(),
        actorId: actor.id,
      }),
    ]);
    ctx.ca.invalidateCrl();
    return certificateView(ctx, { ...cert, revoked_at: now, revocation_reason: r });
  });
}

const spkiOf = (pem: string): string => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/**
 * The instance's other valid certificates a revocation takes along: those with
 * the same key, for the same reason (a key compromised is compromised in each),
 * and, when the instance itself is revoked, the ones reissues replaced
 * (superseded), so none of its certificates outlives it unseen.
 */
async function revokedAlong(ctx: RaContext, cert: CertificateTable, reason: RevocationReason, instanceRevoked: boolean): Promise<{ id: string; serial: string; reason: RevocationReason }[]> {
  const others = await ctx.db.selectFrom('certificates').select(['id', 'serial', 'pem']).where('instance_id', '=', cert.instance_id).where('revoked_at', 'is', null).where('id', '!=', cert.id).execute();
  const key = spkiOf(cert.pem);
  return others.flatMap((o) => (spkiOf(o.pem) === key ? [{ id: o.id, serial: o.serial, reason }] : instanceRevoked ? [{ id: o.id, serial: o.serial, reason: 'superseded' as const }] : []));
}

export async function revokedEntries(ctx: RaContext) {
  const rows = await ctx.db.selectFrom('certificates').select(['serial', 'revoked_at', 'revocation_reason']).where('revoked_at', 'is not', null).execute();
  return rows.map((r) => ({ serial: r.serial, revokedAt: new Date(r.revoked_at ?? 0), reason: (r.revocation_reason ?? 'unspecified') as RevocationReason }));
}
