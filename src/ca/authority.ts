/**
 * The certificate authority: holds the root and intermediate (keys unsealed
 * only in memory), issues leaf certificates through the pki profile and lint,
 * and signs the CRLs. It signs only what the registration authority hands it.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Clock } from '../clock.js';
import { createIntermediateCa, createRootCa } from '../pki/ca_certificates.js';
import { describeCertificate, issueLeaf, issuerHandle, maxLeafValidityDays, type IssuerHandle, type LeafParams } from '../pki/certificate.js';
import { buildCrl, type RevocationReason } from '../pki/crl.js';
import type { KeyAlgorithm } from '../pki/keys.js';
import { fromPem } from '../pki/pem.js';
import { randomSerial } from '../pki/serial.js';
import type { Db } from '../store/database.js';
import { newId } from '../store/ids.js';
import type { KeyVault } from './key_vault.js';
import { CrlNumbers } from './crl_numbers.js';

export interface CaUrls {
  /** Base public URL, e.g. https://certdesk.example.com; used in AIA and CRL distribution points. */
  publicUrl: string;
}

export interface IssueRequest {
  level: LeafParams['level'];
  dnsNames: string[];
  ipAddresses: string[];
  subjectPublicKeyDer: Buffer;
  organization?: LeafParams['organization'];
  /** The instance's purchased term ends here; the certificate never outlives it. */
  notAfterLimit?: Date;
}

export interface IssuedCertificate {
  pem: string;
  serial: string;
  description: ReturnType<typeof describeCertificate>;
}

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

const CRL_LIFETIME_MS = 7 * 24 * 3600 * 1000;
// Backdating notBefore a little keeps clients with a slow clock from seeing a not-yet-valid certificate.
const BACKDATE_MS = 60 * 1000;

export class CertificateAuthority {
  private crlCache: { der: Buffer; builtAt: number } | null = null;
  private readonly crlNumbers = new CrlNumbers<IssuerHandle>();
  /** No leaf may outlive the intermediate that signs it. */
  private readonly intermediateNotAfter: Date;
  /** The same strings for every leaf, so the leaf template cache finds its template by them. */
  private readonly aiaIssuerUrl: string;
  private readonly crlUrl: string;

  private constructor(
    readonly rootPem: string,
    readonly intermediatePem: string,
    private readonly root: IssuerHandle,
    private readonly intermediate: IssuerHandle,
    urls: CaUrls,
    private readonly clock: Clock,
  ) {
    this.intermediateNotAfter = new Date(new X509Certificate(intermediatePem).validTo);
    this.aiaIssuerUrl = `${urls.publicUrl}/ca/intermediate.crt`;
    this.crlUrl = `${urls.publicUrl}/ca/intermediate.crl`;
  }

  /** Loads the hierarchy from the store, creating a root and an intermediate on first start. */
  static async open(db: Db, vault: KeyVault, clock: Clock, options: CaUrls & { keyAlgorithm: 'ecdsa' | 'rsa'; name: string }): Promise<{ ca: CertificateAuthority; created: boolean }> {
    const rows = await db.selectFrom('authorities').selectAll().execute();
    let root = rows.find((r) => r.kind === 'root');
    let intermediate = rows.find((r) => r.kind === 'intermediate');
    let created = false;
    if (!root || !intermediate) {
      ({ root, intermediate } = await createHierarchy(db, vault, clock, options));
      created = true;
    }
    const rootKey = createPrivateKey(vault.open(root.key_sealed, `authority:${root.id}`));
    const intermediateKey = createPrivateKey(vault.open(intermediate.key_sealed, `authority:${intermediate.id}`));
    const ca = new CertificateAuthority(
      root.cert_pem,
      intermediate.cert_pem,
      issuerHandle(root.cert_pem, rootKey),
      issuerHandle(intermediate.cert_pem, intermediateKey),
      options,
      clock,
    );
    return { ca, created };
  }

  get chainPem(): string {
    return this.intermediatePem + this.rootPem;
  }

  get intermediateDer(): Buffer {
    return fromPem(this.intermediatePem, 'CERTIFICATE');
  }

  get rootDer(): Buffer {
    return fromPem(this.rootPem, 'CERTIFICATE');
  }

  describeHierarchy(): { root: ReturnType<typeof describeCertificate>; intermediate: ReturnType<typeof describeCertificate> } {
    return { root: describeCertificate(this.rootPem), intermediate: describeCertificate(this.intermediatePem) };
  }

  issue(request: IssueRequest): IssuedCertificate {
    const now = this.clock.now();
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    let notAfter = new Date(notBefore.getTime() + maxLeafValidityDays(notBefore) * 86400_000 - 1000);
    if (request.notAfterLimit && request.notAfterLimit < notAfter) notAfter = request.notAfterLimit;
    if (this.intermediateNotAfter < notAfter) notAfter = this.intermediateNotAfter;
    const leaf = issueLeaf({
      serial: randomSerial(),
      level: request.level,
      dnsNames: request.dnsNames,
      ipAddresses: request.ipAddresses,
      subjectPublicKeyDer: request.subjectPublicKeyDer,
      notBefore,
      notAfter,
      issuer: this.intermediate,
      aiaIssuerUrl: this.aiaIssuerUrl,
      crlUrl: this.crlUrl,
      ...(request.organization ? { organization: request.organization } : {}),
    });
    return { pem: leaf.pem, serial: leaf.description.serial, description: leaf.description };
  }

  /** The intermediate's CRL, rebuilt when a revocation invalidated it or half its lifetime passed. */
  async intermediateCrl(loadRevoked: () => Promise<RevokedEntry[]>): Promise<Buffer> {
    const now = this.clock.now().getTime();
    if (this.crlCache && now - this.crlCache.builtAt < CRL_LIFETIME_MS / 2) return this.crlCache.der;
    const der = this.signCrl(this.intermediate, await loadRevoked());
    this.crlCache = { der, builtAt: now };
    return der;
  }

  /** The root's CRL; the root never revoked its intermediate, so it is empty. */
  rootCrl(): Buffer {
    return this.signCrl(this.root, []);
  }

  invalidateCrl(): void {
    this.crlCache = null;
  }

  private signCrl(issuer: IssuerHandle, entries: RevokedEntry[]): Buffer {
    const now = this.clock.now();
    return buildCrl({
      issuer,
      entries: entries.map((e) => ({ serial: Buffer.from(e.serial.length % 2 ? `0${e.serial}` : e.serial, 'hex'), revokedAt: e.revokedAt, reason: e.reason })),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_LIFETIME_MS),
      crlNumber: this.crlNumbers.next(issuer, now),
    });
  }
}

async function createHierarchy(db: Db, vault: KeyVault, clock: Clock, options: CaUrls & { keyAlgorithm: 'ecdsa' | 'rsa'; name: string }) {
  const now = clock.now();
  const years = (n: number) => new Date(Date.UTC(now.getUTCFullYear() + n, now.getUTCMonth(), now.getUTCDate()));
  const rootAlg: KeyAlgorithm = options.keyAlgorithm === 'rsa' ? 'rsa-4096' : 'ecdsa-p384';
  const intermediateAlg: KeyAlgorithm = options.keyAlgorithm === 'rsa' ? 'rsa-3072' : 'ecdsa-p256';
  const rootCa = createRootCa({
    commonName: `${options.name} Root CA`,
    organization: options.name,
    keyAlgorithm: rootAlg,
    notBefore: now,
    notAfter: years(20),
    serial: randomSerial(),
  });
  const intermediateCa = createIntermediateCa({
    commonName: `${options.name} TLS Issuing CA`,
    organization: options.name,
    keyAlgorithm: intermediateAlg,
    notBefore: now,
    notAfter: years(8),
    serial: randomSerial(),
    issuer: issuerHandle(rootCa.certPem, createPrivateKey(rootCa.privateKeyPem)),
    aiaIssuerUrl: `${options.publicUrl}/ca/root.crt`,
    crlUrl: `${options.publicUrl}/ca/root.crl`,
  });
  const at = now.toISOString();
  const rootId = newId('ca');
  const intermediateId = newId('ca');
  const root = { id: rootId, kind: 'root' as const, cert_pem: rootCa.certPem, key_sealed: vault.seal(rootCa.privateKeyPem, `authority:${rootId}`), created_at: at };
  const intermediate = {
    id: intermediateId,
    kind: 'intermediate' as const,
    cert_pem: intermediateCa.certPem,
    key_sealed: vault.seal(intermediateCa.privateKeyPem, `authority:${intermediateId}`),
    created_at: at,
  };
  await db.insertInto('authorities').values([root, intermediate]).execute();
  return { root, intermediate };
}
