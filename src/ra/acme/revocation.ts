/** ACME revokeCert (§7.6): by the account that owns the certificate, or by the certificate's own key. */
import { X509Certificate } from 'node:crypto';
import { CertdeskError } from '../../errors.js';
import type { RevocationReason } from '../../pki/crl.js';
import type { AcmeAccountTable } from '../../store/schema.js';
import type { Actor } from '../actor.js';
import type { RaContext } from '../context.js';
import { revokeCertificate } from '../issuance.js';
import { acmeError } from './errors.js';

/** RFC 5280 reason codes a subscriber may give. */
const REASONS: Record<number, RevocationReason> = { 0: 'unspecified', 1: 'keyCompromise', 3: 'affiliationChanged', 4: 'superseded', 5: 'cessationOfOperation' };

export function revocationReason(code: unknown): RevocationReason {
  if (code === undefined) return 'unspecified';
  const reason = typeof code === 'number' ? REASONS[code] : undefined;
  if (!reason) throw acmeError('badRevocationReason', `reason must be one of ${Object.keys(REASONS).join(', ')} (RFC 5280 codes: unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation).`);
  return reason;
}

export type RevocationAuthority = { account: AcmeAccountTable } | { certificateKeySpki: Buffer };

export async function revokeByAcme(ctx: RaContext, certificateB64: unknown, reasonCode: unknown, by: RevocationAuthority): Promise<void> {
  if (typeof certificateB64 !== 'string') throw acmeError('malformed', 'revokeCert needs certificate: the DER certificate, base64url-encoded.');
  const der = Buffer.from(certificateB64, 'base64url');
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(der);
  } catch {
    throw acmeError('malformed', 'certificate is not a DER X.509 certificate.');
  }
  const reason = revocationReason(reasonCode);
  const serial = parsed.serialNumber.toLowerCase().replace(/^(00)+/, '');
  const row = await ctx.db.selectFrom('certificates').select(['id', 'owner_id', 'pem']).where('serial', '=', serial).executeTakeFirst();
  if (!row || !new X509Certificate(row.pem).raw.equals(der)) throw acmeError('malformed', 'This CA did not issue that certificate.', { status: 404 });
  const allowed =
    'account' in by ? by.account.owner_id === row.owner_id : parsed.publicKey.export({ type: 'spki', format: 'der' }).equals(by.certificateKeySpki);
  if (!allowed) throw acmeError('unauthorized', 'Only the account of the certificate\'s subscriber, or a request signed with the certificate\'s own key, may revoke it.');
  const owner = await ctx.db.selectFrom('users').select(['id', 'email', 'role']).where('id', '=', row.owner_id).executeTakeFirstOrThrow();
  const actor: Actor = { id: owner.id, email: owner.email, role: 'subscriber' };
  try {
    await revokeCertificate(ctx, actor, row.id, reason);
  } catch (err) {
    if (err instanceof CertdeskError && err.code === 'ALREADY_REVOKED') throw acmeError('alreadyRevoked', err.message);
    throw err;
  }
}
