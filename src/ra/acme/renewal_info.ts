/** ACME Renewal Information (ARI, RFC 9773): when a client should renew a certificate. */
import { AsnParser } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, Certificate, id_ce_authorityKeyIdentifier } from '@peculiar/asn1-x509';
import { fromPem } from '../../pki/pem.js';
import { readExtension } from '../../pki/extensions.js';
import type { CertificateTable } from '../../store/schema.js';
import type { RaContext } from '../context.js';
import { acmeError } from './errors.js';

export interface RenewalWindow {
  start: Date;
  end: Date;
}

/**
 * The suggested window: the last third of the lifetime up to its last sixth
 * (so a 90-day certificate renews between day 60 and day 75), or, for a
 * revoked certificate, a window already open so the client renews now.
 */
export function suggestedWindow(cert: { notBefore: Date; notAfter: Date; revokedAt: Date | null }, now: Date): RenewalWindow {
  if (cert.revokedAt) return { start: new Date(Math.min(cert.revokedAt.getTime(), now.getTime() - 1000)), end: now };
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return { start: new Date(cert.notAfter.getTime() - lifetime / 3), end: new Date(cert.notAfter.getTime() - lifetime / 6) };
}

/** RFC 9773 §4.1: base64url(authorityKeyIdentifier keyIdentifier) "." base64url(serial DER content). */
export function certificateIdOf(akiKeyId: Buffer, serial: Buffer): string {
  return `${akiKeyId.toString('base64url')}.${serial.toString('base64url')}`;
}

/** The certificate an ARI certID names, or undefined when this CA issued none by that id; `what` says where the certID came from. */
export async function certificateByCertId(ctx: RaContext, certId: string, what: string): Promise<Pick<CertificateTable, 'id' | 'owner_id' | 'names' | 'pem' | 'not_before' | 'not_after' | 'revoked_at'> | undefined> {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
  if (!m) throw acmeError('malformed', `${what} must be base64url(authority key id) "." base64url(serial number).`);
  const aki = Buffer.from(m[1] as string, 'base64url').toString('hex');
  const serial = Buffer.from(m[2] as string, 'base64url').toString('hex').replace(/^(00)+/, '');
  const row = await ctx.db
    .selectFrom('certificates')
    .select(['id', 'owner_id', 'names', 'pem', 'not_before', 'not_after', 'revoked_at'])
    .where('serial', '=', serial)
    .executeTakeFirst();
  return row && authorityKeyId(row.pem) === aki ? row : undefined;
}

export async function renewalInfo(ctx: RaContext, certId: string): Promise<RenewalWindow> {
  const row = await certificateByCertId(ctx, certId, 'The renewalInfo path');
  if (!row) throw acmeError('malformed', `This CA issued no certificate ${certId}.`, { status: 404 });
  return suggestedWindow({ notBefore: new Date(row.not_before), notAfter: new Date(row.not_after), revokedAt: row.revoked_at ? new Date(row.revoked_at) : null }, ctx.clock.now());
}

function authorityKeyId(pem: string): string | undefined {
  const cert = AsnParser.parse(fromPem(pem, 'CERTIFICATE'), Certificate);
  const ext = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_authorityKeyIdentifier);
  const keyId = ext ? readExtension(ext, AuthorityKeyIdentifier).keyIdentifier : undefined;
  return keyId ? Buffer.from(keyId.buffer, keyId.byteOffset, keyId.byteLength).toString('hex') : undefined;
}
